package main

import (
	"context"

	"github.com/ecolaura/ecolaura/adapters/telemetry"
)

// tracingConfig is the tracing of serve and worker: on when an OTEL_*
// variable asks for a trace exporter (see telemetry.Enabled), configured by
// the standard OTEL_* variables.
type tracingConfig struct {
	env getenv
	// use, when set, is the tracing to use instead (tests: an SDK provider
	// with an in-memory exporter).
	use *telemetry.Tracing
}

// open returns the process's tracing; the caller shuts it down last.
func (t tracingConfig) open(ctx context.Context) (*telemetry.Tracing, error) {
	if t.use != nil {
		return t.use, nil
	}
	if t.env == nil {
		return telemetry.Off(), nil
	}
	return telemetry.New(ctx, t.env, "ecolaura", appVersion())
}
