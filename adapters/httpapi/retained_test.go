package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
)

// keepAlive sends raw requests one after the other on one connection and
// returns the responses, fully read.
func keepAlive(t *testing.T, base string, requests ...string) []*http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(conn)
	var out []*http.Response
	for _, r := range requests {
		_, err := io.WriteString(conn, r)
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "response to %q", r)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

// TestMetricsLabelsSurviveKeepAlive is issue 10 item 12: the method label
// pointed into fasthttp's request buffer, so a PUT followed by a GET on the
// same connection rewrote the stored label and /metrics failed for good.
func TestMetricsLabelsSurviveKeepAlive(t *testing.T) {
	h := newHarness(t)
	base := h.listen()
	reqs := []string{
		"PUT /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"DELETE /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
		"PATCH /api/v2/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
		"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	}
	for _, r := range keepAlive(t, base, reqs...) {
		assert.Equal(t, http.StatusNotFound, r.StatusCode)
	}
	for range 2 {
		m := h.scrape()
		for method, n := range map[string]int{"GET": 2, "PUT": 1, "DELETE": 1, "POST": 1, "PATCH": 1} {
			assert.Contains(t, m, fmt.Sprintf(`ecolaura_http_requests_total{method=%q,route="unmatched",status="404"} %d`, method, n))
		}
	}
}

// TestMetricsMethodLabelIsBounded: a method outside HTTP's registered set
// must not mint a label value per spelling (one series per junk method).
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	h := newHarness(t)
	base := h.listen()
	var reqs []string
	for i := range 5 {
		reqs = append(reqs, fmt.Sprintf("JUNK%d /api/v2/products HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", i))
	}
	for _, r := range keepAlive(t, base, reqs...) {
		assert.Equal(t, http.StatusNotImplemented, r.StatusCode)
		assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
		assert.NotEmpty(t, r.Header.Get("X-Request-Id"))
	}
	m := h.scrape()
	assert.NotContains(t, m, "JUNK")
	assert.Contains(t, m, `ecolaura_http_requests_total{method="other",route="unmatched",status="501"} 5`)
}

// recordingHandler keeps every log record, as a buffering or asynchronous
// slog handler does, so that strings which point into reused request
// buffers show up changed.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// accessLog returns the method and path of every access-log record.
func (h *recordingHandler) accessLog() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		if r.Message != "request" {
			continue
		}
		var method, path string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "method":
				method = a.Value.String()
			case "path":
				path = a.Value.String()
			}
			return true
		})
		out = append(out, method+" "+path)
	}
	return out
}

// TestLogFieldsSurviveKeepAlive: log fields must not point into fasthttp's
// buffers either, or a handler that keeps records (batching, async) logs
// the next request's method and path for this one.
func TestLogFieldsSurviveKeepAlive(t *testing.T) {
	rec := &recordingHandler{}
	h := newHarness(t)
	srv, err := httpapi.New(h.cfg, h.svc, httpapi.WithLogger(slog.New(rec)))
	require.NoError(t, err)
	h.srv = srv
	base := h.listen()
	keepAlive(t, base,
		"PUT /api/v1/aaaa/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"GET /api/v2/bbbbbbbb HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"DELETE /cc HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	)
	assert.Equal(t, []string{"PUT /api/v1/aaaa/", "GET /api/v2/bbbbbbbb", "DELETE /cc"}, rec.accessLog())
}
