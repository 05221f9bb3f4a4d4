package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// sendJSON writes v as JSON with status.
func sendJSON(c *fiber.Ctx, status int, v any) error {
	body, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

// sendCacheable writes v as JSON with a strong ETag computed from the body
// and answers 304 when the client already has it.
func sendCacheable(c *fiber.Ctx, v any) error {
	body, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	return sendCacheableBytes(c, body)
}

func sendCacheableBytes(c *fiber.Ctx, body []byte) error {
	return sendWithETag(c, body, strongETag(body))
}

// strongETag is the quoted hash of a representation.
func strongETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

func sendWithETag(c *fiber.Ctx, body []byte, etag string) error {
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(http.StatusNotModified)
	}
	c.Status(http.StatusOK)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag {
			return true
		}
	}
	return false
}

// pathID reads an ID path parameter (copied: Fiber's strings point into
// buffers that are reused after the handler returns, and services may keep
// what they are given). A malformed ID cannot name anything, so
// it is a 404, as in DRF.
func pathID(c *fiber.Ctx, name string) (ecolaura.ID, error) {
	id, err := ecolaura.ParseID(strings.Clone(c.Params(name)))
	if err != nil {
		return "", ecolaura.ErrNotFound
	}
	return id, nil
}

// staffPathID begins a staff route on one resource: the caller must be
// staff (ErrUnauthenticated, ErrForbidden) and the path parameter name an
// ID (ErrNotFound, as pathID), checked in that order.
func staffPathID(c *fiber.Ctx, name string) (ecolaura.Principal, ecolaura.ID, error) {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return actor, "", err
	}
	id, err := pathID(c, name)
	return actor, id, err
}

// queryValues parses the raw query string. A pair that is not
// percent-encoded correctly ("q=%zz") is left out and the others are kept
// (v1 ignores it, as Django does not fail on it); v2 refuses it (v2Query).
func queryValues(c *fiber.Ctx) url.Values {
	v, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	if v == nil {
		v = url.Values{}
	}
	return v
}

// v2Query parses the query string strictly: every pair that is not
// percent-encoded correctly, and every parameter given more than once
// (every v2 parameter takes one value: which one would count is a guess),
// is a field error on its name. (What the values may contain is the
// business of each parameter's own rule: q follows the text rules, IDs and
// cursors their formats.)
func v2Query(c *fiber.Ctx) (url.Values, error) {
	raw := string(c.Request().URI().QueryString())
	var errs fieldErrors
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, kerr := url.QueryUnescape(k)
		if kerr != nil {
			key = k
		}
		if _, verr := url.QueryUnescape(v); kerr != nil || verr != nil {
			errs.add(key, "is not percent-encoded correctly")
		}
	}
	q := queryValues(c)
	for k, vs := range q {
		if len(vs) > 1 {
			errs.add(k, "is given more than once; give it once")
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return q, nil
}

// v1Param returns the value of a v1 query parameter as Django's
// QueryDict.get (DRF's request.query_params.get) does: the last one when
// it is given more than once, "" when absent.
func v1Param(q url.Values, name string) string {
	vs := q[name]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// kgNumber renders grams as a JSON number of kilograms, exactly.
func kgNumber(g ecolaura.CO2e) json.Number {
	neg := g < 0
	if neg {
		g = -g
	}
	s := strconv.FormatInt(int64(g)/1000, 10)
	if frac := int64(g) % 1000; frac != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(1000+frac, 10)[1:], "0")
	}
	if neg {
		s = "-" + s
	}
	return json.Number(s)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
