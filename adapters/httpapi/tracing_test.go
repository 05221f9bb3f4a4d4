package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
)

// TestTracing: with WithTracing each request is a server span named after
// its method and route template; a caller's W3C traceparent is its parent
// (same trace), the response carries the span's traceparent, and a
// request without one starts a trace.
func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := newHarness(t, withServerOptions(httpapi.WithTracing(tp, nil)))
	p := h.product("Cork board", "office", 1800, 3, nil)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		name       string
		path       string
		headers    map[string]string
		status     int
		span       string
		withParent bool
	}{
		{"caller's trace", "/api/v2/products/" + string(p.ID), map[string]string{"traceparent": "00-" + traceID + "-" + parentID + "-01"}, http.StatusOK, "GET /api/v2/products/:id", true},
		{"new trace", "/api/v2/products/" + string(p.ID), nil, http.StatusOK, "GET /api/v2/products/:id", false},
		{"malformed traceparent", "/api/v2/products", map[string]string{"traceparent": "00-zz-yy-01"}, http.StatusOK, "GET /api/v2/products", false},
		{"unknown path", "/api/v2/nothing-here", nil, http.StatusNotFound, "GET unmatched", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.Ended())
			resp := h.do(req{Path: tt.path, Headers: tt.headers})
			require.Equal(t, tt.status, resp.Status)
			ended := rec.Ended()[before:]
			var server []sdktrace.ReadOnlySpan
			for _, s := range ended {
				if s.SpanKind() == trace.SpanKindServer {
					server = append(server, s)
				}
			}
			require.Len(t, server, 1)
			s := server[0]
			assert.Equal(t, tt.span, s.Name())
			assert.True(t, strings.HasPrefix(s.InstrumentationScope().Name, "github.com/gofiber/contrib/otelfiber"))
			if tt.withParent {
				assert.Equal(t, traceID, s.SpanContext().TraceID().String())
				assert.Equal(t, parentID, s.Parent().SpanID().String())
				assert.True(t, s.Parent().IsRemote())
			} else {
				assert.False(t, s.Parent().IsValid())
				assert.NotEqual(t, traceID, s.SpanContext().TraceID().String())
			}
			assert.Equal(t, "00-"+s.SpanContext().TraceID().String()+"-"+s.SpanContext().SpanID().String()+"-01", resp.Header.Get("traceparent"),
				"the response names the request's span")
		})
	}
}

// TestNoTracingByDefault: without WithTracing nothing is traced and no
// traceparent is answered.
func TestNoTracingByDefault(t *testing.T) {
	h := newHarness(t)
	resp := h.do(req{Path: "/api/v2/products", Headers: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	require.Equal(t, http.StatusOK, resp.Status)
	assert.Empty(t, resp.Header.Get("traceparent"))
}
