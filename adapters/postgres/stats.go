package postgres

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// PoolStats is a snapshot of the process's one connection pool (pgxpool's
// Stat), for metrics.
type PoolStats struct {
	// MaxConns is the pool's bound; TotalConns the connections open now,
	// AcquiredConns of them in use and IdleConns waiting in the pool;
	// ConstructingConns are being dialled.
	MaxConns, TotalConns, AcquiredConns, IdleConns, ConstructingConns int32
	// Acquires counts connections taken from the pool since it was opened;
	// Waits counts those that had to wait because none was idle (pgxpool's
	// EmptyAcquireCount), WaitTime the total time they waited, and
	// CanceledAcquires those abandoned because their context ended.
	Acquires, Waits, CanceledAcquires int64
	WaitTime                          time.Duration
}

// PoolStats returns a snapshot of the connection pool.
func (d *Database) PoolStats() PoolStats {
	s := d.pool.Stat()
	return PoolStats{
		MaxConns: s.MaxConns(), TotalConns: s.TotalConns(), AcquiredConns: s.AcquiredConns(), IdleConns: s.IdleConns(),
		ConstructingConns: s.ConstructingConns(),
		Acquires:          s.AcquireCount(), Waits: s.EmptyAcquireCount(), CanceledAcquires: s.CanceledAcquireCount(),
		WaitTime: s.EmptyAcquireWaitTime(),
	}
}

// QueueDepth is how many jobs of one Ecolaura kind (ports.Job.Kind) are in
// one River state.
type QueueDepth struct {
	Kind string
	// State is a River job state that is not final: "available" (waiting
	// for a worker), "scheduled" (waiting for its time), "retryable"
	// (failed, waiting for the next attempt), "running" or "pending".
	State string
	Jobs  int64
}

// QueueDepths counts the jobs not yet finished, by kind and state, with
// one query on River's job table (its state index). Errors: ErrUnavailable.
func (d *Database) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	rows, err := d.pool.Query(ctx, `SELECT coalesce(args->>'kind', kind), state::text, count(*)
		FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending')
		GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, wrap(err, "count queued jobs")
	}
	defer rows.Close()
	var out []QueueDepth
	for rows.Next() {
		var q QueueDepth
		if err := rows.Scan(&q.Kind, &q.State, &q.Jobs); err != nil {
			return nil, wrap(err, "count queued jobs")
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "count queued jobs")
	}
	return out, nil
}

// JobOutcomes are the runs of one Ecolaura job kind by this process's
// runner since it was created.
type JobOutcomes struct {
	Kind string
	// Completed runs succeeded; Retried failed and will run again;
	// Discarded failed their last attempt; Cancelled failed for good
	// (ports.ErrPermanent). Duration is the total time of all runs.
	Completed, Retried, Discarded, Cancelled uint64
	Duration                                 time.Duration
}

// jobOutcomes counts runs by kind.
type jobOutcomes struct {
	mu    sync.Mutex
	kinds map[string]*JobOutcomes
}

func (o *jobOutcomes) record(kind string, job *rivertype.JobRow, err error, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.kinds == nil {
		o.kinds = map[string]*JobOutcomes{}
	}
	k := o.kinds[kind]
	if k == nil {
		k = &JobOutcomes{Kind: kind}
		o.kinds[kind] = k
	}
	k.Duration += d
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
		k.Completed++
	case errors.As(err, &cancel):
		k.Cancelled++
	case job != nil && job.Attempt >= job.MaxAttempts:
		k.Discarded++
	default:
		k.Retried++
	}
}

func (o *jobOutcomes) snapshot() []JobOutcomes {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]JobOutcomes, 0, len(o.kinds))
	for _, k := range o.kinds {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// Outcomes returns the runs of this runner by job kind, sorted by kind.
func (r *JobRunner) Outcomes() []JobOutcomes { return r.outcomes.snapshot() }
