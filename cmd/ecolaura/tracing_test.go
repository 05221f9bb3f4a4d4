package main

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/adapters/telemetry"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// Instrumentation scopes of the integrations the server wires.
const (
	scopeFiber = "github.com/gofiber/contrib/otelfiber"
	scopePgx   = "github.com/exaring/otelpgx"
	scopeRiver = "github.com/riverqueue/rivercontrib/otelriver"
	scopeRedis = "github.com/ecolaura/ecolaura/adapters/redis"
)

// TestCheckoutIsOneTrace runs the server on PostgreSQL (River workers in
// the process) and Redis with an SDK tracer provider whose exporter keeps
// the spans in memory, places orders over HTTP and checks that each
// checkout is one trace: the HTTP server span, the SQL of the checkout, the
// job insert and the runs of the jobs it queued (with their own SQL and
// the confirmation email), every span a descendant of the HTTP span. The
// caller's W3C traceparent is honoured: the trace keeps its trace ID and
// the HTTP span is the child of the caller's span. Every log line of the
// checkout, the job's included, carries the trace ID.
func TestCheckoutIsOneTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	dbURL := testenv.Postgres(t)
	redisURL, prefix := testenv.RedisURL(), testenv.RedisPrefix()
	cleanRedis(t, redisURL, prefix)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"migrate", "up"},
		envOf(map[string]string{"ECOLAURA_DATABASE_URL": dbURL}), &out, &errOut), errOut.String())

	// A span recorder, not the in-memory exporter: the server shuts its
	// provider down on exit, and the exporter forgets its spans then.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(map[string]string{
		"ECOLAURA_DATABASE_URL": dbURL, "ECOLAURA_REDIS_URL": redisURL, "ECOLAURA_REDIS_PREFIX": prefix,
		"ECOLAURA_ADMIN_EMAIL": "admin@example.org", "ECOLAURA_ADMIN_PASSWORD": "admin-password-123",
		"ECOLAURA_RATE_LIMITS": "off",
	}), flag.NewFlagSet("serve", flag.ContinueOnError))
	require.NoError(t, err)
	cfg.Tracing.use = telemetry.WithProvider(tp)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuf
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, &logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server ended early: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start\n%s", logs.String())
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	defer func() {
		stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()

	c := &client{t: t, base: "http://" + addr}
	st, body := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "admin@example.org", "password": "admin-password-123"})
	require.Equal(t, http.StatusOK, st, "%v", body)
	staff := body["access_token"].(string)
	st, body = c.do("POST", "/api/v2/products", staff, nil, map[string]any{"name": "Linen tote", "category": "home",
		"price": map[string]any{"amount": "12.50", "currency": "EUR"}, "stock": 10, "score": 60})
	require.Equal(t, http.StatusCreated, st, "%v", body)
	productID := body["id"].(string)
	st, body = c.do("POST", "/api/v2/auth/register", "", nil, map[string]any{"email": "tess@example.test", "name": "Tess", "password": "tess-password-12"})
	require.Equal(t, http.StatusCreated, st, "%v", body)
	st, body = c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "tess@example.test", "password": "tess-password-12"})
	require.Equal(t, http.StatusOK, st, "%v", body)
	customer := body["access_token"].(string)

	checkout := func(key string, headers map[string]string) string {
		t.Helper()
		h := map[string]string{"Idempotency-Key": key}
		for k, v := range headers {
			h[k] = v
		}
		st, body := c.do("POST", "/api/v2/orders", customer, h, map[string]any{"lines": []map[string]any{{"product_id": productID, "quantity": 1}}})
		require.Equal(t, http.StatusCreated, st, "%v", body)
		orderID := body["id"].(string)
		require.Eventually(t, func() bool {
			_, o := c.do("GET", "/api/v2/orders/"+orderID, staff, nil, nil)
			return o["status"] == "confirmed"
		}, 30*time.Second, 50*time.Millisecond, "the worker confirms the order")
		return orderID
	}

	// A checkout sent with the caller's trace context, and one without.
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	withParent := checkout("traced-1", map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"})
	withoutParent := checkout("traced-2", nil)
	// Both orders' jobs end with the confirmation email (the log mailer).
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "order_confirmation."+withParent) && strings.Contains(logs.String(), "order_confirmation."+withoutParent)
	}, 30*time.Second, 50*time.Millisecond, "both confirmations are sent")
	stop() // every span has ended and is exported

	spans := tracetest.SpanStubsFromReadOnlySpans(rec.Ended())
	byTrace := map[trace.TraceID][]tracetest.SpanStub{}
	for _, s := range spans {
		byTrace[s.SpanContext.TraceID()] = append(byTrace[s.SpanContext.TraceID()], s)
	}
	checkoutTrace := func(t *testing.T, root tracetest.SpanStub) []tracetest.SpanStub {
		t.Helper()
		tr := byTrace[root.SpanContext.TraceID()]
		byID := map[trace.SpanID]tracetest.SpanStub{}
		for _, s := range tr {
			byID[s.SpanContext.SpanID()] = s
		}
		// Every span of the trace descends from the HTTP span.
		for _, s := range tr {
			if s.SpanContext.SpanID() == root.SpanContext.SpanID() {
				continue
			}
			p, hops := s, 0
			for p.SpanContext.SpanID() != root.SpanContext.SpanID() {
				next, ok := byID[p.Parent.SpanID()]
				require.True(t, ok, "span %q (%s) of the checkout's trace descends from the HTTP span", s.Name, s.InstrumentationScope.Name)
				p, hops = next, hops+1
				require.Less(t, hops, 100)
			}
		}
		count := map[string]int{}
		var workSQL int
		for _, s := range tr {
			count[s.InstrumentationScope.Name+" "+s.Name]++
			if s.InstrumentationScope.Name == scopePgx {
				count["sql"]++
				for p, ok := byID[s.Parent.SpanID()]; ok; p, ok = byID[p.Parent.SpanID()] {
					if p.Name == "river.work" {
						workSQL++
						break
					}
				}
			}
		}
		assert.Positive(t, count["sql"], "the checkout's SQL: %v", count)
		assert.Positive(t, count[scopeRiver+" river.insert_many"], "the job insert: %v", count)
		assert.GreaterOrEqual(t, count[scopeRiver+" river.work"], 2, "process_order and send_confirmation_email run in the trace: %v", count)
		assert.Positive(t, workSQL, "the jobs' SQL is under their river.work spans")
		return tr
	}
	httpSpan := func(t *testing.T, pred func(tracetest.SpanStub) bool) tracetest.SpanStub {
		t.Helper()
		var found []tracetest.SpanStub
		for _, s := range spans {
			if strings.HasPrefix(s.InstrumentationScope.Name, scopeFiber) && s.Name == "POST /api/v2/orders" && pred(s) {
				found = append(found, s)
			}
		}
		require.Len(t, found, 1)
		assert.Equal(t, trace.SpanKindServer, found[0].SpanKind)
		return found[0]
	}

	t.Run("traceparent honoured", func(t *testing.T) {
		root := httpSpan(t, func(s tracetest.SpanStub) bool { return s.SpanContext.TraceID().String() == callerTrace })
		assert.Equal(t, callerSpan, root.Parent.SpanID().String(), "the HTTP span is the caller's span's child")
		assert.True(t, root.Parent.IsRemote())
		checkoutTrace(t, root)
		assert.Regexp(t, `msg=request .*path=/api/v2/orders .*trace_id=`+callerTrace+` span_id=[0-9a-f]{16}`, logs.String(), "the access log line")
		assert.Regexp(t, `msg="email sent \(log mailer\)".*message_id=order_confirmation\.`+withParent+`@\S+.*trace_id=`+callerTrace, logs.String(),
			"the job's log line")
	})
	t.Run("new trace", func(t *testing.T) {
		root := httpSpan(t, func(s tracetest.SpanStub) bool { return s.SpanContext.TraceID().String() != callerTrace })
		assert.False(t, root.Parent.IsValid(), "a request without traceparent starts a trace")
		checkoutTrace(t, root)
	})
	t.Run("every job a request queued runs in its trace", func(t *testing.T) {
		var works int
		for _, s := range spans {
			if s.Name != "river.work" {
				continue
			}
			require.True(t, s.Parent.IsValid(), "a job run continues the trace of its insert")
			hasHTTP, outside := false, false
			for _, o := range byTrace[s.SpanContext.TraceID()] {
				hasHTTP = hasHTTP || strings.HasPrefix(o.InstrumentationScope.Name, scopeFiber)
				// The job queued outside any request, at start (the
				// admin account's verification email): its trace
				// starts at the insert.
				outside = outside || (o.Name == "river.insert_many" && !o.Parent.IsValid())
			}
			if outside {
				continue
			}
			works++
			assert.True(t, hasHTTP, "job run %v is in the trace of the request that queued it", s.Attributes)
		}
		assert.GreaterOrEqual(t, works, 4)
	})
	t.Run("redis", func(t *testing.T) {
		var redisSpans int
		for _, s := range spans {
			if s.InstrumentationScope.Name == scopeRedis {
				redisSpans++
				assert.True(t, s.Parent.IsValid(), "redis span %q has a parent", s.Name)
				assert.Equal(t, trace.SpanKindClient, s.SpanKind)
			}
		}
		assert.Positive(t, redisSpans, "the cache's commands are traced")
	})
}
