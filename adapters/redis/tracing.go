package redis

import (
	"context"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the adapter's spans.
const tracerName = "github.com/ecolaura/ecolaura/adapters/redis"

// WithTracerProvider traces the adapter's Redis commands with OpenTelemetry:
// each command (GET, SET, EVALSHA, ...) or pipeline is a client span under
// the caller's span, named after the command, with db.system.name "redis",
// db.operation.name and, for reads that may be answered from the
// client-side cache, redis.client_cache_hit. Keys and values are never
// recorded. Calls outside a traced context record nothing. nil (the
// default) traces nothing.
//
// rueidis's own integration (rueidisotel) is not served by the module
// proxy this project builds from, so the adapter wraps its rueidis.Client
// with the OpenTelemetry API instead.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// tracedClient is a rueidis.Client whose Do, DoMulti, DoCache and
// DoMultiCache start a span when the context has a recording one.
type tracedClient struct {
	rueidis.Client
	tracer trace.Tracer
}

// traced wraps client when tp is set.
func traced(client rueidis.Client, tp trace.TracerProvider) rueidis.Client {
	if tp == nil {
		return client
	}
	return tracedClient{Client: client, tracer: tp.Tracer(tracerName)}
}

func (c tracedClient) start(ctx context.Context, name string, n int) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{attribute.String("db.system.name", "redis"), attribute.String("db.operation.name", name)}
	if n > 1 {
		attrs = append(attrs, attribute.Int("db.operation.batch.size", n))
	}
	return c.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// end records err (a Redis nil reply is no error) and ends span.
func end(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil && !rueidis.IsRedisNil(err) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// commandName is the upper-case name of a command ("GET"), or of a
// pipeline of several ("PIPELINE"), for span names of low cardinality.
func commandName(cmds [][]string) string {
	if len(cmds) == 0 || len(cmds[0]) == 0 {
		return "redis"
	}
	first := strings.ToUpper(cmds[0][0])
	for _, c := range cmds[1:] {
		if len(c) == 0 || !strings.EqualFold(c[0], first) {
			return "PIPELINE"
		}
	}
	return first
}

func (c tracedClient) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	ctx, span := c.start(ctx, commandName([][]string{cmd.Commands()}), 1)
	resp := c.Client.Do(ctx, cmd)
	end(span, resp.Error())
	return resp
}

func (c tracedClient) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	names := make([][]string, len(multi))
	for i, m := range multi {
		names[i] = m.Commands()
	}
	ctx, span := c.start(ctx, commandName(names), len(multi))
	resps := c.Client.DoMulti(ctx, multi...)
	end(span, firstError(resps))
	return resps
}

func (c tracedClient) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	ctx, span := c.start(ctx, commandName([][]string{cmd.Commands()}), 1)
	resp := c.Client.DoCache(ctx, cmd, ttl)
	if span != nil {
		span.SetAttributes(attribute.Bool("redis.client_cache_hit", resp.IsCacheHit()))
	}
	end(span, resp.Error())
	return resp
}

func (c tracedClient) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	names := make([][]string, len(multi))
	for i, m := range multi {
		names[i] = m.Cmd.Commands()
	}
	ctx, span := c.start(ctx, commandName(names), len(multi))
	resps := c.Client.DoMultiCache(ctx, multi...)
	if span != nil {
		hits := 0
		for _, r := range resps {
			if r.IsCacheHit() {
				hits++
			}
		}
		span.SetAttributes(attribute.Int("redis.client_cache_hits", hits))
	}
	end(span, firstError(resps))
	return resps
}

func firstError(resps []rueidis.RedisResult) error {
	for _, r := range resps {
		if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
			return err
		}
	}
	return nil
}
