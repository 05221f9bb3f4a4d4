package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// btreeDegree is the degree of every B-tree: nodes of up to 63 items keep
// trees shallow (four levels at a million entries) and copy-on-write cheap.
const btreeDegree = 32

func newTree[T any](less func(a, b T) bool) *btree.BTreeG[T] {
	return btree.NewG(btreeDegree, less)
}

// errNestedTx is returned when Do is called, or a store of the Database is
// written, from inside a transaction of the same Database (it would deadlock).
var errNestedTx = errors.New("memory: nested transaction: use the stores of the Tx inside Do")

// errTxDone is returned when a Tx is used after its Do returned.
var errTxDone = errors.New("memory: transaction already finished")

// Option configures a [Database].
type Option func(*Database)

// WithJobRunner makes the Database hand every job committed through
// tx.Jobs() to r. Without a runner committed jobs are dropped (and counted,
// see [Database.DroppedJobs]).
func WithJobRunner(r *JobRunner) Option { return func(db *Database) { db.runner = r } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(db *Database) {
		if l != nil {
			db.log = l
		}
	}
}

// Database is the in-memory [ports.Database]. It is safe for concurrent use;
// see the package documentation for the design. The zero value is not
// usable: call [NewDatabase].
type Database struct {
	snap    atomic.Pointer[snapshot]
	writer  chan struct{} // writer lock: a semaphore of one, context-aware
	runner  *JobRunner
	log     *slog.Logger
	dropped atomic.Int64

	journalMu  sync.Mutex
	journal    []journalRow // committed product-cache journal rows, oldest first
	journalSeq atomic.Int64
}

var _ ports.Database = (*Database)(nil)

// NewDatabase returns an empty database.
func NewDatabase(opts ...Option) *Database {
	db := &Database{
		writer: make(chan struct{}, 1),
		log:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o != nil {
			o(db)
		}
	}
	db.snap.Store(newSnapshot())
	return db
}

// Products returns the product store; each call on it is atomic on its own.
func (db *Database) Products() ports.ProductStore { return productStore{db: db} }

// Inventory returns the inventory store; each call on it is atomic on its own.
func (db *Database) Inventory() ports.InventoryStore { return inventoryStore{db: db} }

// Orders returns the order store; each call on it is atomic on its own.
func (db *Database) Orders() ports.OrderStore { return orderStore{db: db} }

// Users returns the user store; each call on it is atomic on its own.
func (db *Database) Users() ports.UserStore { return userStore{db: db} }

// RefreshTokens returns the refresh-token store; each call on it is atomic on
// its own.
func (db *Database) RefreshTokens() ports.RefreshTokenStore { return tokenStore{db: db} }

// AccountTokens returns the account-token store; each call on it is atomic
// on its own.
func (db *Database) AccountTokens() ports.AccountTokenStore { return accountTokenStore{db: db} }

// Audit returns the audit log; each call on it is atomic on its own.
func (db *Database) Audit() ports.AuditLog { return auditLog{db: db} }

// Addresses returns the address-book store; each call on it is atomic on
// its own.
func (db *Database) Addresses() ports.AddressStore { return addressStore{db: db} }

// ShippingMethods returns the shipping-method store; each call on it is
// atomic on its own.
func (db *Database) ShippingMethods() ports.ShippingMethodStore { return shippingMethodStore{db: db} }

// TaxRates returns the tax-rate store; each call on it is atomic on its own.
func (db *Database) TaxRates() ports.TaxRateStore { return taxRateStore{db: db} }

// Payments returns the payment-record store; each call on it is atomic on
// its own.
func (db *Database) Payments() ports.PaymentStore { return paymentStore{db: db} }

// Passports returns the passport store; each call on it is atomic on its own.
func (db *Database) Passports() ports.PassportStore { return passportStore{db: db} }

// Images returns the image store; each call on it is atomic on its own.
func (db *Database) Images() ports.ImageStore { return imageStore{db: db} }

// Ping reports whether the database is usable: always, unless ctx is done.
func (db *Database) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: ping: %w", err)
	}
	return nil
}

// DroppedJobs returns how many committed jobs were dropped because the
// Database has no [JobRunner].
func (db *Database) DroppedJobs() int64 { return db.dropped.Load() }

type txKey struct{}

// Do runs fn in one READ COMMITTED transaction, exactly as
// [ports.UnitOfWork] states it: until its first write fn reads the latest
// committed state on every call; its first write takes the writer lock
// (waiting for the transaction that holds it, or for ctx to end) and starts
// its working copy from the latest commit, so every conditional write is
// evaluated against the latest committed rows, and from then on fn reads
// that state plus its own writes. When fn returns nil its writes are
// published atomically and its jobs handed to the runner; when fn returns an
// error or panics nothing of it is kept (a panic is re-raised after the
// rollback). Do returns fn's error unchanged; a write that cannot take the
// writer lock before ctx ends returns a wrapped ctx error. Calling Do, or
// writing through the Database's own stores, inside fn returns an error.
func (db *Database) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	if fn == nil {
		return ecolaura.Misconfigured("fn", "must not be nil")
	}
	if owner, _ := ctx.Value(txKey{}).(*Database); owner == db {
		return errNestedTx
	}
	t := &txn{db: db}
	committed := false
	defer func() {
		if !committed {
			t.finish() // rollback: the snapshot of the transaction is dropped
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{}, db), t); err != nil {
		return err
	}
	t.commit()
	committed = true
	return nil
}

func (db *Database) lock(ctx context.Context) error {
	select {
	case db.writer <- struct{}{}:
		return nil
	default:
	}
	select {
	case db.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("memory: begin transaction: %w", ctx.Err())
	}
}

func (db *Database) unlock() { <-db.writer }

// autocommit runs one store write as its own transaction.
func (db *Database) autocommit(ctx context.Context, fn func(t *txn) error) error {
	if owner, _ := ctx.Value(txKey{}).(*Database); owner == db {
		return errNestedTx
	}
	if err := db.lock(ctx); err != nil {
		return err
	}
	defer db.unlock()
	t := db.begin()
	if err := fn(t); err != nil {
		t.finish()
		return err
	}
	t.commit()
	return nil
}

// begin returns a transaction that writes from the latest commit on; the
// caller holds the writer lock.
func (db *Database) begin() *txn {
	t := &txn{db: db}
	t.start()
	return t
}

// start makes the latest commit the transaction's working copy; the writer
// lock is held.
func (t *txn) start() {
	base := *t.db.snap.Load()
	t.w = &base
}

// deliver hands committed jobs to the runner.
func (db *Database) deliver(jobs []ports.Job) {
	if len(jobs) == 0 {
		return
	}
	if db.runner == nil {
		db.dropped.Add(int64(len(jobs)))
		db.log.Debug("memory: committed jobs dropped: no job runner", "jobs", len(jobs))
		return
	}
	db.runner.submit(jobs)
}

// snapshot is one committed state. A published snapshot and everything it
// points to is never modified again.
type snapshot struct {
	products      *productTables
	inventory     *inventoryTables
	orders        *orderTables
	users         *userTables
	tokens        *tokenTables
	accountTokens *accountTokenTables
	audit         *auditTables
	addresses     *addressTables
	shipping      *shippingTables
	payments      *paymentTables
	passports     *passportTables
	images        *imageTables
}

func newSnapshot() *snapshot {
	return &snapshot{
		products:      newProductTables(),
		inventory:     newInventoryTables(),
		orders:        newOrderTables(),
		users:         newUserTables(),
		tokens:        newTokenTables(),
		accountTokens: newAccountTokenTables(),
		audit:         newAuditTables(),
		addresses:     newAddressTables(),
		shipping:      newShippingTables(),
		payments:      newPaymentTables(),
		passports:     newPassportTables(),
		images:        newImageTables(),
	}
}

// txn is one transaction. Until its first write w is nil and reads see the
// latest commit; the first write takes the writer lock (locked) and makes a
// shallow copy of the latest commit its working copy w, whose tables are
// cloned (copy-on-write) the first time they are written. A txn serialises
// its own use with mu, so fn may share tx between goroutines.
type txn struct {
	db *Database

	mu        sync.Mutex
	w         *snapshot
	locked    bool // holds db's writer lock (taken by Do's first write)
	done      bool
	dirty     bool
	ownProd   bool
	ownInv    bool
	ownOrders bool
	ownUsers  bool
	ownTokens bool
	ownAcct   bool
	ownAudit  bool
	ownAddr   bool
	ownShip   bool
	ownPay    bool
	ownPass   bool
	ownImages bool
	ownCats   map[string]*categoryEntry
	jobs      []ports.Job
	stale     []journalRow // product-cache journal rows, published on commit
}

var _ ports.Tx = (*txn)(nil)

// Products returns the product store bound to the transaction.
func (t *txn) Products() ports.ProductStore { return productStore{db: t.db, tx: t} }

// Inventory returns the inventory store bound to the transaction.
func (t *txn) Inventory() ports.InventoryStore { return inventoryStore{db: t.db, tx: t} }

// Orders returns the order store bound to the transaction.
func (t *txn) Orders() ports.OrderStore { return orderStore{db: t.db, tx: t} }

// Users returns the user store bound to the transaction.
func (t *txn) Users() ports.UserStore { return userStore{db: t.db, tx: t} }

// RefreshTokens returns the refresh-token store bound to the transaction.
func (t *txn) RefreshTokens() ports.RefreshTokenStore { return tokenStore{db: t.db, tx: t} }

// AccountTokens returns the account-token store bound to the transaction.
func (t *txn) AccountTokens() ports.AccountTokenStore { return accountTokenStore{db: t.db, tx: t} }

// Audit returns the audit log bound to the transaction.
func (t *txn) Audit() ports.AuditLog { return auditLog{db: t.db, tx: t} }

// Addresses returns the address-book store bound to the transaction.
func (t *txn) Addresses() ports.AddressStore { return addressStore{db: t.db, tx: t} }

// ShippingMethods returns the shipping-method store bound to the transaction.
func (t *txn) ShippingMethods() ports.ShippingMethodStore {
	return shippingMethodStore{db: t.db, tx: t}
}

// TaxRates returns the tax-rate store bound to the transaction.
func (t *txn) TaxRates() ports.TaxRateStore { return taxRateStore{db: t.db, tx: t} }

// Payments returns the payment-record store bound to the transaction.
func (t *txn) Payments() ports.PaymentStore { return paymentStore{db: t.db, tx: t} }

// Passports returns the passport store bound to the transaction.
func (t *txn) Passports() ports.PassportStore { return passportStore{db: t.db, tx: t} }

// Images returns the image store bound to the transaction.
func (t *txn) Images() ports.ImageStore { return imageStore{db: t.db, tx: t} }

// Jobs returns the transaction's job queue: its jobs reach the runner only
// after the commit.
func (t *txn) Jobs() ports.JobQueue { return txJobs{t: t} }

func (t *txn) commit() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	if t.dirty {
		t.db.snap.Store(t.w)
	}
	jobs := t.jobs
	t.jobs = nil
	t.db.appendJournal(t.stale)
	t.stale = nil
	t.db.deliver(jobs)
	t.release()
}

func (t *txn) finish() {
	t.mu.Lock()
	t.done = true
	t.jobs = nil
	t.stale = nil
	t.release()
	t.mu.Unlock()
}

// release gives the writer lock back if the transaction took it; t.mu is held.
func (t *txn) release() {
	if t.locked {
		t.locked = false
		t.db.unlock()
	}
}

// products returns the product tables for writing, cloning them on first use.
func (t *txn) products() *productTables { return own(t, &t.ownProd, &t.w.products) }

func (t *txn) orders() *orderTables { return own(t, &t.ownOrders, &t.w.orders) }

func (t *txn) users() *userTables { return own(t, &t.ownUsers, &t.w.users) }

func (t *txn) tokens() *tokenTables { return own(t, &t.ownTokens, &t.w.tokens) }

func (t *txn) accountTokens() *accountTokenTables { return own(t, &t.ownAcct, &t.w.accountTokens) }

func (t *txn) auditLog() *auditTables { return own(t, &t.ownAudit, &t.w.audit) }

func (t *txn) passports() *passportTables { return own(t, &t.ownPass, &t.w.passports) }
func (t *txn) imageTables() *imageTables  { return own(t, &t.ownImages, &t.w.images) }

// own makes the transaction the owner of one set of tables: the first write
// replaces the shared (committed) tables by a copy-on-write clone.
func own[T interface{ clone() T }](t *txn, owned *bool, tables *T) T {
	if !*owned {
		*tables = (*tables).clone()
		*owned = true
	}
	t.dirty = true
	return *tables
}

// view runs a read against the right snapshot: the transaction's working
// copy once it has written, else the latest committed snapshot (lock-free).
func view(db *Database, t *txn, fn func(s *snapshot) error) error {
	if t == nil {
		return fn(db.snap.Load())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return errTxDone
	}
	if t.w == nil {
		return fn(db.snap.Load())
	}
	return fn(t.w)
}

// update runs a write in the transaction, or as its own transaction. The
// transaction's first write takes the writer lock and starts the working
// copy from the latest commit. fn must check everything before it changes
// anything, so a failing call leaves the transaction as it was.
func update(ctx context.Context, db *Database, t *txn, fn func(t *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t == nil {
		return db.autocommit(ctx, fn)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return errTxDone
	}
	if t.w == nil {
		if err := db.lock(ctx); err != nil {
			return err
		}
		t.locked = true
		t.start()
	}
	return fn(t)
}

// txJobs is the job queue of one transaction.
type txJobs struct{ t *txn }

// Enqueue records job to be handed to the runner when the transaction
// commits. Errors: *ValidationError (ErrInvalid) for an empty kind.
func (q txJobs) Enqueue(ctx context.Context, job ports.Job) error {
	if job.Kind == "" {
		return ecolaura.Invalid("kind", "must not be empty")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	q.t.mu.Lock()
	defer q.t.mu.Unlock()
	if q.t.done {
		return errTxDone
	}
	q.t.jobs = append(q.t.jobs, ports.Job{Kind: job.Kind, Payload: cloneBytes(job.Payload)})
	return nil
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
