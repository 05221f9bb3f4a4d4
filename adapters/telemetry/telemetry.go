// Package telemetry sets up OpenTelemetry tracing for a process: the
// tracer provider, configured by the standard OTEL_* environment variables
// through go.opentelemetry.io/contrib/exporters/autoexport, the W3C trace
// context propagator, and a log/slog handler that writes the trace and span
// IDs of a record's context into every log line.
//
// The other adapters take a trace.TracerProvider (postgres.WithTracerProvider,
// httpapi.WithTracing, redis.WithTracerProvider, mail.WithTracerProvider,
// stripe.Config.TracerProvider); cmd/ecolaura hands them [Tracing.Provider].
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// exporterVariables are the OTEL_* variables that ask for a trace
// exporter; with none of them set, tracing is off.
var exporterVariables = []string{
	"OTEL_TRACES_EXPORTER",
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
}

// Enabled reports whether getenv asks for trace export: one of
// OTEL_TRACES_EXPORTER (other than "none"), OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and OTEL_SDK_DISABLED is not
// "true".
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e != "" {
		return !strings.EqualFold(e, "none")
	}
	for _, v := range exporterVariables {
		if strings.TrimSpace(getenv(v)) != "" {
			return true
		}
	}
	return false
}

// Check reports OTEL_* settings that New would refuse, for a start that
// stops on configuration errors before doing anything: an
// OTEL_TRACES_EXPORTER other than otlp, console or none, or an
// OTEL_EXPORTER_OTLP_PROTOCOL (or OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) other
// than http/protobuf or grpc. Nothing is checked while tracing is off.
func Check(getenv func(string) string) error {
	if !Enabled(getenv) {
		return nil
	}
	var errs []error
	if e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e != "" {
		for _, name := range strings.Split(e, ",") {
			switch strings.TrimSpace(name) {
			case "otlp", "console", "none":
			default:
				errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER: want otlp, console or none, got %q", e))
			}
		}
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		switch p := strings.TrimSpace(getenv(v)); p {
		case "", "http/protobuf", "grpc":
		default:
			errs = append(errs, fmt.Errorf("%s: want http/protobuf or grpc, got %q", v, p))
		}
	}
	return errors.Join(errs...)
}

// Tracing is a process's tracing: a provider for the adapters, the
// propagator of incoming and outgoing trace context, and Shutdown, which
// flushes the spans not exported yet.
type Tracing struct {
	// On is false when no exporter is configured: the process then
	// instruments nothing (no middleware, no driver hooks), at no cost.
	On bool
	// Provider is a no-op provider when tracing is off.
	Provider trace.TracerProvider
	// Propagator reads and writes W3C traceparent/tracestate and baggage.
	Propagator propagation.TextMapPropagator
	// Exporter describes the exporter for the start log ("off" when none).
	Exporter string
	shutdown func(context.Context) error
}

// Shutdown exports the buffered spans and stops the provider; ctx bounds
// the wait. It does nothing when tracing is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("tracing shutdown: %w", err)
	}
	return nil
}

// Tracer returns Provider when tracing is on and nil otherwise: what the
// adapters' options take, nil meaning "install no instrumentation".
func (t *Tracing) Tracer() trace.TracerProvider {
	if t == nil || !t.On {
		return nil
	}
	return t.Provider
}

// Propagator returns the propagator of W3C trace context and baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Off returns tracing that records nothing: On is false and Provider a
// no-op provider.
func Off() *Tracing {
	return &Tracing{Provider: noop.NewTracerProvider(), Propagator: Propagator(), Exporter: "off"}
}

// WithProvider returns tracing over an SDK provider the caller built (a
// test's, with an in-memory exporter); Shutdown shuts it down.
func WithProvider(tp *sdktrace.TracerProvider) *Tracing {
	return &Tracing{On: true, Provider: tp, Propagator: Propagator(), Exporter: "custom", shutdown: tp.Shutdown}
}

// New returns the process's tracing. When [Enabled] says no exporter is
// asked for it is [Off]. Otherwise the exporter is autoexport's
// (OTEL_TRACES_EXPORTER: otlp, the default, or console; OTLP over
// OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf, the default, or grpc, to
// OTEL_EXPORTER_OTLP_ENDPOINT), behind a batch span processor (OTEL_BSP_*),
// with the SDK's sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG;
// default parentbased_always_on) and a resource whose service.name is
// service unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say
// otherwise, and whose service.version is version. The SDK reads these
// variables from the process environment; getenv decides only whether
// tracing is on. Errors: an exporter setting autoexport refuses (an
// unknown exporter or protocol).
func New(ctx context.Context, getenv func(string) string, service, version string) (*Tracing, error) {
	if !Enabled(getenv) {
		return Off(), nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("trace exporter (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_PROTOCOL): %w", err)
	}
	if autoexport.IsNoneSpanExporter(exp) {
		return Off(), nil
	}
	// Later detectors win: the environment overrides the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("trace resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	name := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	if name == "" {
		name = "otlp"
	}
	return &Tracing{On: true, Provider: tp, Propagator: Propagator(), Exporter: name, shutdown: tp.Shutdown}, nil
}

// LogHandler wraps h so that a record logged with a context that carries a
// valid span (slog's *Context methods, Logger.LogAttrs) gets trace_id and
// span_id attributes (lowercase hex, as in traceparent). Records without
// one pass through unchanged.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(traceHandler); ok {
		return h
	}
	return traceHandler{h}
}

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
