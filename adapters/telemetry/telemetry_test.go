package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/adapters/telemetry"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestEnabled(t *testing.T) {
	tests := []struct {
		name string
		env  func(string) string
		want bool
	}{
		{"nothing set", env(), false},
		{"service name alone", env("OTEL_SERVICE_NAME", "shop"), false},
		{"OTLP endpoint", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), true},
		{"OTLP traces endpoint", env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces"), true},
		{"exporter named", env("OTEL_TRACES_EXPORTER", "console"), true},
		{"exporter none", env("OTEL_TRACES_EXPORTER", "none", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), false},
		{"exporter None", env("OTEL_TRACES_EXPORTER", "None"), false},
		{"SDK disabled", env("OTEL_SDK_DISABLED", "true", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), false},
		{"SDK not disabled", env("OTEL_SDK_DISABLED", "false", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, telemetry.Enabled(tt.env))
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		env  func(string) string
		want string // "" : no error
	}{
		{"off", env("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"), ""},
		{"otlp endpoint", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), ""},
		{"grpc", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ""},
		{"console", env("OTEL_TRACES_EXPORTER", "console"), ""},
		{"unknown exporter", env("OTEL_TRACES_EXPORTER", "zipkin"), `OTEL_TRACES_EXPORTER: want otlp, console or none, got "zipkin"`},
		{"unknown protocol", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
			`OTEL_EXPORTER_OTLP_PROTOCOL: want http/protobuf or grpc, got "http/json"`},
		{"unknown traces protocol", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp"),
			`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: want http/protobuf or grpc, got "udp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := telemetry.Check(tt.env)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewOffWithoutExporterVariables(t *testing.T) {
	tr, err := telemetry.New(context.Background(), env(), "ecolaura", "v1")
	require.NoError(t, err)
	assert.False(t, tr.On)
	assert.Nil(t, tr.Tracer(), "nothing is instrumented")
	assert.Equal(t, "off", tr.Exporter)
	require.NoError(t, tr.Shutdown(context.Background()))
}

func TestNewWithConsoleExporter(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	tr, err := telemetry.New(context.Background(), env("OTEL_TRACES_EXPORTER", "console"), "ecolaura", "v1")
	require.NoError(t, err)
	assert.True(t, tr.On)
	assert.Equal(t, "console", tr.Exporter)
	assert.NotNil(t, tr.Tracer())
	require.NoError(t, tr.Shutdown(context.Background()))
}

func TestNewRefusesAnUnknownExporter(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "carrier-pigeon")
	_, err := telemetry.New(context.Background(), env("OTEL_TRACES_EXPORTER", "carrier-pigeon"), "ecolaura", "v1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OTEL_TRACES_EXPORTER")
}

// TestLogHandler: a record logged within a span's context carries its
// trace and span IDs, in text and JSON, through WithAttrs; one without a
// span carries none.
func TestLogHandler(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	sc := span.SpanContext()
	for _, format := range []string{"text", "json"} {
		for _, tc := range []struct {
			name   string
			ctx    context.Context
			traced bool
		}{
			{"in a span", ctx, true},
			{"no span", context.Background(), false},
			{"remote parent only", trace.ContextWithRemoteSpanContext(context.Background(), sc), true},
		} {
			t.Run(format+" "+tc.name, func(t *testing.T) {
				var buf bytes.Buffer
				var h slog.Handler = slog.NewTextHandler(&buf, nil)
				if format == "json" {
					h = slog.NewJSONHandler(&buf, nil)
				}
				log := slog.New(telemetry.LogHandler(h)).With("component", "test")
				log.InfoContext(tc.ctx, "hello", "n", 1)
				line := buf.String()
				if format == "json" {
					var m map[string]any
					require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
					assert.Equal(t, "test", m["component"])
					if tc.traced {
						assert.Equal(t, sc.TraceID().String(), m["trace_id"])
						assert.Equal(t, sc.SpanID().String(), m["span_id"])
					} else {
						assert.NotContains(t, m, "trace_id")
					}
					return
				}
				if tc.traced {
					assert.Contains(t, line, "trace_id="+sc.TraceID().String()+" span_id="+sc.SpanID().String())
				} else {
					assert.NotContains(t, line, "trace_id")
				}
				assert.True(t, strings.HasSuffix(line, "\n"))
			})
		}
	}
	// Wrapping twice adds the IDs once.
	var buf bytes.Buffer
	slog.New(telemetry.LogHandler(telemetry.LogHandler(slog.NewTextHandler(&buf, nil)))).InfoContext(ctx, "once")
	assert.Equal(t, 1, strings.Count(buf.String(), "trace_id="))
}
