package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// responseTTL bounds how long a rendered product response is kept; the
// invalidation signals make it exact long before that.
const responseTTL = 15 * time.Minute

// renderFunc loads what a response shows: the IDs of the products in it
// (which the validity stamp covers) and the value to encode.
type renderFunc func() (ids []ecolaura.ID, body any, err error)

// finishFunc turns the cached (or freshly rendered) bytes into the bytes of
// this request's response, and returns the bytes it put in (the request's
// own part, e.g. links with its host); nil sends them as they are.
type finishFunc func(body []byte) (out, added []byte)

// sendProducts writes a cacheable product response. With CacheSignals and a
// ResponseCache it keeps the rendered bytes and their ETag under the catalog
// generation and serves them while the stamp of the products they show is
// unchanged, so a hot list costs two cache reads instead of loading,
// decoding and encoding twenty products. Any write that changes what the
// response shows (a catalog edit, a stock movement, a new product in the
// list) changes the generation or the stamp, so nothing stale is served.
//
// A request calls load at most once. The stamp that validates a rendered
// body must be read before the body is loaded (a write committed between
// the load and a later stamp read would otherwise be cached as current), and
// the IDs it covers are known only from a load. So the first miss of a key
// stores just the IDs it showed; a later miss reads the stamp of those IDs,
// loads once, and stores the body under that stamp when it shows the same
// IDs (else it stores the new IDs and caches the body next time).
//
// params is the canonical form of the request's validated parameters: the
// cache key is built from kind and params only, never from the raw query
// (unknown v1 parameters are ignored, so junk parameters cannot create
// keys) nor from the Host header or the URL the API is reached under. An
// empty params caches nothing: requests with free-form values (a search
// text, a client-held cursor) are not cached, and neither are empty lists
// (any well-formed category slug would otherwise be a key). Parts of a body
// that depend on the request (v1's absolute page links) are left as
// placeholders in the cached bytes and filled in by finish, which also makes
// the ETag of what is sent.
//
// Staff see draft and archived products that nobody else may see, so a
// staff request is never served from nor stored in the cache, and its
// response is private (no shared cache may keep it).
func (s *Server) sendProducts(c *fiber.Ctx, kind, params string, load renderFunc, finish finishFunc) error {
	staff := principal(c).IsStaff()
	if staff {
		params = ""
	}
	send := func(body []byte, etag string) error {
		if finish != nil {
			// The finished bytes are a function of the cached ones (named
			// by etag) and of what finish put in: their digest names the
			// result as strongly, without hashing the whole body again.
			var added []byte
			body, added = finish(body)
			etag = strongETag(append([]byte(etag), added...))
		}
		err := sendWithETag(c, body, etag)
		if staff {
			c.Set(fiber.HeaderCacheControl, "private, no-cache")
		}
		return err
	}
	render := func(body any) error {
		raw, err := jsonMarshal(body)
		if err != nil {
			return err
		}
		return send(raw, strongETag(raw))
	}
	sig, rc := s.svc.CacheSignals, s.svc.ResponseCache
	if sig == nil || rc == nil || params == "" {
		_, body, err := load()
		if err != nil {
			return err
		}
		return render(body)
	}
	ctx := c.UserContext()
	gen, err := sig.Generation(ctx)
	if err != nil {
		_, body, err := load()
		if err != nil {
			return err
		}
		return render(body)
	}
	sum := sha256.Sum256([]byte(params))
	key := "http:" + kind + ":" + strconv.FormatInt(gen, 10) + ":" + hex.EncodeToString(sum[:16])
	var (
		known   []ecolaura.ID // the IDs the key showed last time
		before  string        // their stamp, read before this request's load
		stamped bool
	)
	if raw, ok, err := rc.Get(ctx, key); err == nil && ok {
		if e, ok := parseEntry(raw); ok {
			if stamp, err := sig.Stamp(ctx, e.ids); err == nil {
				if e.stamp != "" && stamp == e.stamp {
					if s.metrics != nil {
						s.metrics.respHits.Inc()
					}
					return send(e.body, e.etag)
				}
				known, before, stamped = e.ids, stamp, true
			}
		}
	}
	if s.metrics != nil {
		s.metrics.respMisses.Inc()
	}
	ids, body, err := load()
	if err != nil {
		return err
	}
	raw, err := jsonMarshal(body)
	if err != nil {
		return err
	}
	etag := strongETag(raw)
	if len(ids) > 0 {
		e := entry{ids: ids} // only the IDs: the next miss reads their stamp first
		if stamped && slices.Equal(ids, known) {
			e = entry{stamp: before, ids: ids, etag: etag, body: raw}
		}
		if err := rc.Set(ctx, key, encodeEntry(e), responseTTL); err != nil {
			s.log.Debug("store rendered response", "err", err)
		}
	}
	return send(raw, etag)
}

// cacheParams is the canonical text of validated parameters, for
// sendProducts: name=value pairs in the given order.
func cacheParams(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(strconv.Quote(kv[i+1]))
		b.WriteByte('&')
	}
	return b.String()
}

// entry is a stored response: the stamp of its products when it was
// loaded, their IDs, the ETag and the body. An entry without a stamp holds
// only the IDs a response showed (see sendProducts).
type entry struct {
	stamp string
	ids   []ecolaura.ID
	etag  string
	body  []byte
}

func encodeEntry(e entry) []byte {
	var b bytes.Buffer
	b.WriteString(e.stamp)
	b.WriteByte('\n')
	for i, id := range e.ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(id))
	}
	b.WriteByte('\n')
	b.WriteString(e.etag)
	b.WriteByte('\n')
	b.Write(e.body)
	return b.Bytes()
}

func parseEntry(raw []byte) (entry, bool) {
	parts := bytes.SplitN(raw, []byte{'\n'}, 4)
	if len(parts) != 4 {
		return entry{}, false
	}
	e := entry{stamp: string(parts[0]), etag: string(parts[2]), body: parts[3]}
	if len(parts[1]) > 0 {
		for _, id := range strings.Split(string(parts[1]), ",") {
			e.ids = append(e.ids, ecolaura.ID(id))
		}
	}
	return e, true
}
