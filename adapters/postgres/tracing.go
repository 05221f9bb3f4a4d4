package postgres

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// riverTracing is the River middleware of a traced Database, outermost
// first: jobParent, then otelriver's, which spans inserts (writing the
// inserting span's traceparent into the job's metadata) and runs.
func riverTracing(tp trace.TracerProvider) []rivertype.Middleware {
	return []rivertype.Middleware{
		&jobParent{},
		otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			TracerProvider:              tp,
			EnableTracePropagation:      true,
			EnableWorkSpanJobKindSuffix: false,
		}),
	}
}

// jobParent makes the trace context that otelriver wrote into a job's
// metadata at insert time the parent of the job's run. otelriver alone
// only links the run's span to the inserting span and starts a new trace;
// with this parent the river.work span (and the job's SQL, mail and
// payment spans under it) lands in the trace of the request that queued
// the job, which is how operators follow a checkout to its confirmation
// email. A run whose context already has a span keeps it.
type jobParent struct{ river.MiddlewareDefaults }

var _ rivertype.WorkerMiddleware = (*jobParent)(nil)

// Work implements rivertype.WorkerMiddleware.
func (*jobParent) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if trace.SpanContextFromContext(ctx).IsValid() || len(job.Metadata) == 0 {
		return doInner(ctx)
	}
	var meta map[string]any
	if err := json.Unmarshal(job.Metadata, &meta); err != nil {
		return doInner(ctx)
	}
	carrier := propagation.MapCarrier{}
	for _, k := range (propagation.TraceContext{}).Fields() {
		if v, ok := meta[k].(string); ok {
			carrier[k] = v
		}
	}
	return doInner(propagation.TraceContext{}.Extract(ctx, carrier))
}
