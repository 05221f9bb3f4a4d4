package productcache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// journalBatch is how many journal rows one drain round applies.
const journalBatch = 500

// plan is what a write makes stale: the products whose fences are replaced,
// and whether the generation is replaced.
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

// sortedIDs returns the plan's products in a stable order.
func (p plan) sortedIDs() []ecolaura.ID {
	return slices.Sorted(maps.Keys(p.ids))
}

// crossesZero reports whether a stock change alters in-stock membership.
func crossesZero(before, after int) bool { return (before > 0) != (after > 0) }

// tokens returns the keys of p with a fresh value each: leases (negative)
// or settled values.
func (d *Database) tokens(p plan, lease bool) map[string][]byte {
	out := make(map[string][]byte, len(p.ids)+1)
	val := func() []byte {
		t := newToken()
		if lease {
			t = -t
		}
		return strconv.AppendInt(nil, t, 10)
	}
	for id := range p.ids {
		out[d.fenceKey(id)] = val()
	}
	if p.bump {
		out[d.genKey()] = val()
	}
	return out
}

// announce is step 1 of an invalidation, run inside the transaction just
// before it commits: it sets leases on what p makes stale. When the cache
// cannot be told, it records p in the journal within tx, so the
// invalidation commits (or rolls back) with the write; it returns the
// row's sequence number then (0 otherwise). An error from the journal
// fails the transaction: a write that nobody could learn about is not
// committed.
func (d *Database) announce(ctx context.Context, tx ports.Tx, p plan) (int64, error) {
	err := d.cache.SetMany(ctx, d.tokens(p, true), d.cfg.LeaseTTL)
	if err == nil {
		d.cacheOK(ctx)
		return 0, nil
	}
	d.cacheErr(ctx, "announce write", err)
	jt, ok := tx.(JournalTx)
	if !ok || d.journal == nil {
		return 0, nil // no durable record: settle (or its retry in this process) must do
	}
	seq, err := jt.RecordStaleProducts(ctx, p.sortedIDs(), p.bump)
	if err != nil {
		return 0, fmt.Errorf("productcache: record stale products in the journal: %w", err)
	}
	d.stats.journaled.Add(1)
	return seq, nil
}

// settle is step 2, after the commit (or an unknown outcome): it gives
// what p made stale fresh values. It never fails: when the cache refuses,
// the invalidation is applied later, from the journal (seq != 0) or from
// this process's memory, before this process reads the cache again and in
// the background.
func (d *Database) settle(ctx context.Context, p plan, seq int64) {
	if err := d.apply(ctx, p); err != nil {
		d.cacheErr(ctx, "invalidate", err)
		d.mu.Lock()
		if seq == 0 {
			d.pending.merge(p)
		}
		d.usable.Store(false)
		d.mu.Unlock()
		d.nudge()
		return
	}
	d.cacheOK(ctx)
	d.stats.invalidations.Add(1)
	if seq != 0 {
		if err := d.journal.ForgetStaleProducts(ctx, []int64{seq}); err != nil {
			// Applied; the row stays for a drain, which applies it again.
			d.log.DebugContext(ctx, "forget applied journal row", "seq", seq, "err", err)
		}
	}
}

// apply replaces the fences and generation of p in one round trip.
func (d *Database) apply(ctx context.Context, p plan) error {
	if p.empty() {
		return nil
	}
	if err := d.cache.SetMany(ctx, d.tokens(p, false), d.cfg.FenceTTL); err != nil {
		return err
	}
	if p.bump {
		d.stats.bumps.Add(1)
	}
	return nil
}

// evict deletes the entries of products the store refused a write for
// (ErrConflict, ErrNotFound): they may be stale, and the caller's retry
// must read the store. Failures are only counted.
func (d *Database) evict(ctx context.Context, ids []ecolaura.ID) {
	if len(ids) == 0 {
		return
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = d.productKey(id)
	}
	if err := d.cache.Delete(ctx, keys...); err != nil {
		d.cacheErr(ctx, "evict", err)
		return
	}
	d.stats.evicted.Add(uint64(len(ids)))
}

// ready reports whether the cache may be read. When it may not, it tries
// to apply what is pending first (at most one attempt at a time, and not
// more often than RetryInterval).
func (d *Database) ready(ctx context.Context) bool {
	if d.usable.Load() {
		return true
	}
	d.drain(ctx, false, false)
	return d.usable.Load()
}

// drain applies this process's pending invalidations and, when the
// journal must be scanned (or poll is set), the journal, then marks the
// cache usable if nothing failed meanwhile. force skips the RetryInterval
// throttle. It reports whether everything was applied.
func (d *Database) drain(ctx context.Context, poll, force bool) bool {
	d.mu.Lock()
	if d.draining || (!force && time.Since(d.lastTry) < d.cfg.RetryInterval) {
		d.mu.Unlock()
		return false
	}
	d.draining, d.lastTry = true, time.Now()
	p := d.pending
	d.pending = plan{}
	scan := d.journal != nil && (d.mustScan || poll)
	failuresBefore := d.failures
	d.mu.Unlock()

	err := d.drainOnce(ctx, p, scan)

	d.mu.Lock()
	defer d.mu.Unlock()
	d.draining = false
	if err != nil {
		d.pending.merge(p)
		if scan {
			d.mustScan = true
		}
		d.usable.Store(false)
		return false
	}
	if d.failures == failuresBefore {
		d.mustScan = d.mustScan && !scan
	}
	ok := d.pending.empty() && !d.mustScan
	d.usable.Store(ok)
	return ok
}

// drainOnce applies p, then the journal when scan is set.
func (d *Database) drainOnce(ctx context.Context, p plan, scan bool) error {
	if !p.empty() {
		if err := d.apply(ctx, p); err != nil {
			d.cacheErr(ctx, "retry invalidation", err)
			return err
		}
		d.stats.invalidations.Add(1)
	}
	if !scan {
		return nil
	}
	// Probe the cache first: while it is down, a journal query per attempt
	// would only load the database.
	if _, _, err := d.cache.Get(ctx, d.genKey()); err != nil {
		d.cacheErr(ctx, "probe", err)
		return err
	}
	for {
		seqs, ids, lists, err := d.journal.StaleProducts(ctx, journalBatch)
		if err != nil {
			d.log.WarnContext(ctx, "read the invalidation journal", "err", err)
			return err
		}
		if len(seqs) == 0 {
			break
		}
		var q plan
		for _, id := range ids {
			q.add(id, false)
		}
		q.bump = lists
		if q.empty() { // rows without products (cannot happen, but must not loop)
			q.bump = true
		}
		if err := d.apply(ctx, q); err != nil {
			d.cacheErr(ctx, "apply journal", err)
			return err
		}
		if err := d.journal.ForgetStaleProducts(ctx, seqs); err != nil {
			d.log.WarnContext(ctx, "forget applied journal rows", "err", err)
			return err
		}
		d.stats.applied.Add(uint64(len(seqs)))
		d.log.InfoContext(ctx, "applied invalidations recorded while the cache was unreachable",
			"rows", len(seqs), "products", len(ids), "lists", lists)
		if len(seqs) < journalBatch {
			break
		}
	}
	d.cacheOK(ctx)
	return nil
}

// nudge wakes the background loop.
func (d *Database) nudge() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// loop applies pending invalidations in the background, with exponential
// backoff while they fail, and scans the journal every JournalInterval
// while the cache works, until Close.
func (d *Database) loop() {
	defer close(d.loopDone)
	delay := d.cfg.RetryInterval
	timer := time.NewTimer(d.cfg.RetryInterval)
	defer timer.Stop()
	for {
		select {
		case <-d.closed:
			return
		case <-d.wake:
			timer.Stop()
		case <-timer.C:
		}
		ctx, cancel := context.WithTimeout(d.loopCtx, d.cfg.MaxRetryInterval+d.cfg.LeaseTTL)
		ok := d.drain(ctx, true, true)
		cancel()
		switch {
		case !ok:
			delay = min(2*delay, d.cfg.MaxRetryInterval)
			timer.Reset(delay)
		case d.journal != nil:
			delay = d.cfg.RetryInterval
			timer.Reset(d.cfg.JournalInterval)
		default:
			delay = d.cfg.RetryInterval // idle until nudged
		}
	}
}

// Close stops the background work after one last attempt to apply pending
// invalidations. It returns an error wrapping ecolaura.ErrUnavailable when
// some could not be applied and are not in the journal either (other
// processes may then serve stale entries until they expire); journaled
// ones are applied by whichever process reaches the cache next. The
// database stays usable; Close only ends the background work.
func (d *Database) Close(ctx context.Context) error {
	d.closeOnce.Do(func() {
		close(d.closed)
		d.stopLoop()
	})
	select {
	case <-d.loopDone:
	case <-ctx.Done():
		return fmt.Errorf("productcache: close: %w", ctx.Err())
	}
	if d.drain(ctx, false, true) {
		return nil
	}
	d.mu.Lock()
	lost := !d.pending.empty()
	d.mu.Unlock()
	if lost {
		return fmt.Errorf("productcache: pending invalidations could not be applied: %w", ecolaura.ErrUnavailable)
	}
	return nil
}

// ---- recording writes inside a transaction ----

type change struct {
	catalog bool
	stock   bool
	// crossed: some level of the product crossed zero.
	crossed bool
}

// recorder collects the product writes of one transaction attempt, and the
// products whose write the store refused (suspects).
type recorder struct {
	mu       sync.Mutex
	m        map[ecolaura.ID]*change
	suspects map[ecolaura.ID]struct{}
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
	c.stock = true
	c.crossed = c.crossed || crossesZero(before, after)
	r.mu.Unlock()
}

// refused records a write the store refused because it disagrees with what
// the caller read: a version conflict, or a product that is not there.
func (r *recorder) refused(id ecolaura.ID, err error) {
	if !errors.Is(err, ecolaura.ErrConflict) && !errors.Is(err, ecolaura.ErrNotFound) {
		return
	}
	r.mu.Lock()
	if r.suspects == nil {
		r.suspects = make(map[ecolaura.ID]struct{})
	}
	r.suspects[id] = struct{}{}
	r.mu.Unlock()
}

func (r *recorder) plan() plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p plan
	for id, c := range r.m {
		p.add(id, c.catalog || (c.stock && c.crossed))
	}
	return p
}

// refusedIDs returns the suspects that the plan does not invalidate anyway.
func (r *recorder) refusedIDs(committed bool) []ecolaura.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ecolaura.ID
	for id := range r.suspects {
		if _, written := r.m[id]; committed && written {
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
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

// Get reads through the transaction's store; a product the store does not
// have loses its cached entry, as a refused write does (services read a
// product in the transaction before they edit or delete it).
func (s recordingStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Product, error) {
	p, err := s.ProductStore.Get(ctx, id)
	if errors.Is(err, ecolaura.ErrNotFound) {
		s.rec.refused(id, err)
	}
	return p, err
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
	} else {
		s.rec.refused(p.ID, err)
	}
	return out, err
}

func (s recordingStore) Delete(ctx context.Context, id ecolaura.ID) error {
	err := s.ProductStore.Delete(ctx, id)
	if outcomeMayHaveCommitted(err) {
		s.rec.catalogEdit(id)
	} else {
		s.rec.refused(id, err)
	}
	return err
}

func (t recordingTx) Inventory() ports.InventoryStore {
	return recordingInventory{InventoryStore: t.Tx.Inventory(), rec: t.rec}
}

// recordingInventory passes every call to the transaction's inventory store
// and records the stock movements: each replaces the product's fence (the
// stock shown must be right on the next read), and the generation only when
// a level crosses zero. A product's availability (the sum of its levels)
// can only cross zero when one of its levels does, and every level's
// before/after is exact (the write holds its lock), so lists that filter on
// stock are never left stale, while a stream of sales leaves them valid.
type recordingInventory struct {
	ports.InventoryStore
	rec *recorder
}

func (s recordingInventory) Change(ctx context.Context, c ports.InventoryChange) (ports.InventoryResult, error) {
	out, err := s.InventoryStore.Change(ctx, c)
	if err == nil {
		s.rec.stockMoved(out.ProductID, out.Before, out.After)
	}
	return out, err
}

func (s recordingInventory) Sell(ctx context.Context, sales ...ports.Sale) ([]ports.InventoryResult, error) {
	out, err := s.InventoryStore.Sell(ctx, sales...)
	if err == nil {
		for _, r := range out {
			s.rec.stockMoved(r.ProductID, r.Before, r.After)
		}
	}
	return out, err
}
