package productcache

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// plan is what a committed write makes stale: the products whose fences are
// bumped and entries deleted, and whether the generation is bumped.
type plan struct {
	ids  map[ecolaura.ID]struct{}
	bump bool
}

func (p plan) empty() bool { return len(p.ids) == 0 && !p.bump }

func (p *plan) add(id ecolaura.ID, bump bool) {
	if p.ids == nil {
		p.ids = make(map[ecolaura.ID]struct{})
	}
	p.ids[id] = struct{}{}
	p.bump = p.bump || bump
}

func (p *plan) merge(o plan) {
	if len(o.ids) > 0 && p.ids == nil {
		p.ids = make(map[ecolaura.ID]struct{}, len(o.ids))
	}
	maps.Copy(p.ids, o.ids)
	p.bump = p.bump || o.bump
}

// catalogEdit is the plan of a create, update or delete of id.
func catalogEdit(id ecolaura.ID) plan {
	var p plan
	p.add(id, true)
	return p
}

// crossesZero reports whether a stock change alters in-stock membership.
func crossesZero(before, after int) bool { return (before > 0) != (after > 0) }

// invalidate applies p after a commit. It never fails: an invalidation the
// cache refuses is kept and retried before this process reads the cache
// again (see ready), and in the background until it succeeds, so other
// processes sharing the cache stop seeing stale entries as soon as the cache
// is reachable again even when this process gets no more traffic.
func (d *Database) invalidate(ctx context.Context, p plan) {
	// Invalidate even when the caller's context ends right after its commit.
	ctx = context.WithoutCancel(ctx)
	d.pendingMu.Lock()
	retry := !d.pending.empty()
	if retry {
		// Readers keep bypassing the cache until this retry has succeeded.
		p.merge(d.pending)
		d.pending = plan{}
		d.retrying++
	}
	d.pendingMu.Unlock()
	if p.empty() {
		return
	}
	err := d.apply(ctx, p)
	d.pendingMu.Lock()
	if retry {
		d.retrying--
	}
	if err != nil {
		d.pending.merge(p)
	}
	d.hasPend.Store(!d.pending.empty() || d.retrying > 0)
	d.pendingMu.Unlock()
	if err != nil {
		d.cacheErr(ctx, "invalidate", err)
		d.scheduleRetry()
		return
	}
	d.cacheOK(ctx)
	d.stats.invalidations.Add(1)
}

// scheduleRetry starts the background retry of pending invalidations unless
// it runs already or the database is closed.
func (d *Database) scheduleRetry() {
	select {
	case <-d.closed:
		return
	default:
	}
	if !d.retryLoop.CompareAndSwap(false, true) {
		return
	}
	done := make(chan struct{})
	d.loopMu.Lock()
	d.loopDone = done
	d.loopMu.Unlock()
	go func() {
		defer close(done)
		d.retryPending()
	}()
}

// retryPending retries pending invalidations with exponential backoff until
// none is left or the database is closed.
func (d *Database) retryPending() {
	delay := d.cfg.RetryInterval
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		select {
		case <-d.closed:
			d.retryLoop.Store(false)
			return
		case <-timer.C:
		}
		if d.ready(context.Background()) {
			d.retryLoop.Store(false)
			if d.hasPend.Load() {
				d.scheduleRetry() // a failure raced with our exit
			}
			return
		}
		delay = min(2*delay, d.cfg.MaxRetryInterval)
		timer.Reset(delay)
	}
}

// Close stops the background retry, waiting for an attempt in flight (or
// until ctx ends), then makes one last attempt to apply pending
// invalidations. It returns an error when some could not be applied (other
// processes may then serve stale entries until they expire). The database
// stays usable; Close only ends the background work.
func (d *Database) Close(ctx context.Context) error {
	d.closeOnce.Do(func() { close(d.closed) })
	for {
		d.loopMu.Lock()
		done := d.loopDone
		d.loopMu.Unlock()
		if done == nil {
			break
		}
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("productcache: close: %w", ctx.Err())
		}
		d.loopMu.Lock()
		again := d.loopDone != done
		d.loopMu.Unlock()
		if !again {
			break
		}
	}
	if !d.ready(ctx) {
		return fmt.Errorf("productcache: pending invalidations could not be applied: %w", ecolaura.ErrUnavailable)
	}
	return nil
}

// ready retries pending invalidations and reports whether the cache may be
// read. While an invalidation of this process is pending, reads bypass the
// cache.
func (d *Database) ready(ctx context.Context) bool {
	if !d.hasPend.Load() {
		return true
	}
	d.invalidate(ctx, plan{})
	return !d.hasPend.Load()
}

// apply bumps the fences, deletes the entries and bumps the generation. The
// fence bump comes first: once it is done no reader accepts the old entry,
// whatever happens to the deletion.
func (d *Database) apply(ctx context.Context, p plan) error {
	keys := make([]string, 0, len(p.ids))
	for id := range p.ids {
		if _, err := d.cache.Incr(ctx, d.fenceKey(id)); err != nil {
			return fmt.Errorf("bump fence of %s: %w", id, err)
		}
		keys = append(keys, d.productKey(id))
	}
	if len(keys) > 0 {
		if err := d.cache.Delete(ctx, keys...); err != nil {
			return fmt.Errorf("delete product entries: %w", err)
		}
	}
	if p.bump {
		n, err := d.cache.Incr(ctx, d.genKey())
		if err != nil {
			return fmt.Errorf("bump generation: %w", err)
		}
		if n == 1 {
			// The counter was missing (evicted): do not restart at a value
			// that may have been used before.
			if err := d.cache.Set(ctx, d.genKey(), []byte(strconv.FormatInt(seed(), 10)), 0); err != nil {
				return fmt.Errorf("seed generation: %w", err)
			}
		}
		d.stats.bumps.Add(1)
	}
	return nil
}

// ---- recording writes inside a transaction ----

type change struct {
	catalog       bool
	stock         bool
	before, after int
}

// recorder collects the product writes of one transaction attempt.
type recorder struct {
	mu sync.Mutex
	m  map[ecolaura.ID]*change
}

func newRecorder() *recorder { return &recorder{m: make(map[ecolaura.ID]*change)} }

func (r *recorder) get(id ecolaura.ID) *change {
	c := r.m[id]
	if c == nil {
		c = &change{}
		r.m[id] = c
	}
	return c
}

func (r *recorder) catalogEdit(id ecolaura.ID) {
	r.mu.Lock()
	r.get(id).catalog = true
	r.mu.Unlock()
}

func (r *recorder) stockMoved(id ecolaura.ID, before, after int) {
	r.mu.Lock()
	c := r.get(id)
	if !c.stock {
		c.stock, c.before = true, before
	}
	c.after = after
	r.mu.Unlock()
}

func (r *recorder) plan() plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p plan
	for id, c := range r.m {
		p.add(id, c.catalog || (c.stock && crossesZero(c.before, c.after)))
	}
	return p
}

// recordingTx hands out a product store that records writes.
type recordingTx struct {
	ports.Tx
	rec *recorder
}

func (t recordingTx) Products() ports.ProductStore {
	return recordingStore{ProductStore: t.Tx.Products(), rec: t.rec}
}

// recordingStore passes every call to the transaction's store and records
// the writes that may have happened. Reads inside a transaction are never
// cached: they must see the transaction's own writes.
type recordingStore struct {
	ports.ProductStore
	rec *recorder
}

func (s recordingStore) Create(ctx context.Context, p ecolaura.Product) error {
	err := s.ProductStore.Create(ctx, p)
	if outcomeMayHaveCommitted(err) {
		s.rec.catalogEdit(p.ID)
	}
	return err
}

func (s recordingStore) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	out, err := s.ProductStore.Update(ctx, p)
	if outcomeMayHaveCommitted(err) {
		s.rec.catalogEdit(p.ID)
	}
	return out, err
}

func (s recordingStore) Delete(ctx context.Context, id ecolaura.ID) error {
	err := s.ProductStore.Delete(ctx, id)
	if outcomeMayHaveCommitted(err) {
		s.rec.catalogEdit(id)
	}
	return err
}

func (s recordingStore) AdjustStock(ctx context.Context, adj ports.StockAdjustment) (ecolaura.Product, error) {
	out, err := s.ProductStore.AdjustStock(ctx, adj)
	switch {
	case err == nil:
		s.rec.stockMoved(adj.ProductID, out.Stock-adj.Delta, out.Stock)
	case outcomeMayHaveCommitted(err):
		s.rec.catalogEdit(adj.ProductID) // unknown outcome: invalidate everything it could touch
	}
	return out, err
}
