package porttest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Database runs every suite that takes a [DatabaseFactory]: ProductStore,
// OrderStore, UserStore, RefreshTokenStore, AccountTokenStore, AuditLog,
// UnitOfWork and JobQueue.
func Database(t *testing.T, newDB DatabaseFactory) {
	t.Run("ProductStore", func(t *testing.T) { ProductStore(t, newDB) })
	t.Run("InventoryStore", func(t *testing.T) { InventoryStore(t, newDB) })
	t.Run("OrderStore", func(t *testing.T) { OrderStore(t, newDB) })
	t.Run("UserStore", func(t *testing.T) { UserStore(t, newDB) })
	t.Run("RefreshTokenStore", func(t *testing.T) { RefreshTokenStore(t, newDB) })
	t.Run("AccountTokenStore", func(t *testing.T) { AccountTokenStore(t, newDB) })
	t.Run("AuditLog", func(t *testing.T) { AuditLog(t, newDB) })
	t.Run("AddressStore", func(t *testing.T) { AddressStore(t, newDB) })
	t.Run("ShippingMethodStore", func(t *testing.T) { ShippingMethodStore(t, newDB) })
	t.Run("TaxRateStore", func(t *testing.T) { TaxRateStore(t, newDB) })
	t.Run("PaymentStore", func(t *testing.T) { PaymentStore(t, newDB) })
	t.Run("PassportStore", func(t *testing.T) { PassportStore(t, newDB) })
	t.Run("ImageStore", func(t *testing.T) { ImageStore(t, newDB) })
	t.Run("UnitOfWork", func(t *testing.T) { UnitOfWork(t, newDB) })
	t.Run("JobQueue", func(t *testing.T) { JobQueue(t, newDB) })
}

// UnitOfWork checks the semantics of [ports.UnitOfWork]: a committed
// transaction makes all its writes (products, orders, users, refresh tokens,
// jobs) visible; an error or a panic rolls every one of them back; reads
// inside a transaction see its own writes; no other caller sees uncommitted
// writes; isolation is READ COMMITTED as the port states it (a transaction's
// reads see what others committed meanwhile, and a guarded write waits for
// the transaction holding its row and is evaluated against the outcome); Do
// returns fn's error unchanged; and under real goroutines no stock is
// oversold, no update is lost and one idempotency key creates one order.
func UnitOfWork(t *testing.T, newDB DatabaseFactory) {
	rec := newJobRecorder()
	db := newDB(t, rec)
	require.NotNil(t, db, "factory returned nil")

	t.Run("Commit", func(t *testing.T) { uowCommit(t, db, rec) })
	t.Run("RollbackOnError", func(t *testing.T) {
		boom := errors.New("porttest: roll back")
		uowRollback(t, db, rec, func() error { return boom }, func(t *testing.T, err error, _ any) {
			require.ErrorIs(t, err, boom, "Do returns fn's error")
		})
	})
	t.Run("RollbackOnPanic", func(t *testing.T) {
		uowRollback(t, db, rec, func() error { panic("porttest: roll back by panic") }, func(t *testing.T, err error, recovered any) {
			require.True(t, err != nil || recovered != nil, "Do must either re-panic or return an error when fn panics")
		})
	})
	t.Run("ErrorUnchanged", func(t *testing.T) { uowErrorUnchanged(t, db) })
	t.Run("ReadYourWrites", func(t *testing.T) { uowReadYourWrites(t, db) })
	t.Run("NoDirtyReads", func(t *testing.T) { uowNoDirtyReads(t, db) })
	t.Run("ReadCommitted", func(t *testing.T) { uowReadCommitted(t, db) })
	t.Run("GuardedWriteWaitsForCommit", func(t *testing.T) { uowGuardedWrite(t, db, true) })
	t.Run("GuardedWriteWaitsForRollback", func(t *testing.T) { uowGuardedWrite(t, db, false) })
	t.Run("Oversell", func(t *testing.T) { uowOversell(t, db) })
	t.Run("NoLostUpdates", func(t *testing.T) { uowNoLostUpdates(t, db) })
	t.Run("Transfers", func(t *testing.T) { uowTransfers(t, db) })
	t.Run("IdempotencyKeyConcurrent", func(t *testing.T) { uowIdempotency(t, db) })
	t.Run("CancelledContext", func(t *testing.T) { uowCancelled(t, db) })
}

// raceWithin is race with a liveness bound: a deadlock fails the test
// instead of hanging it.
func raceWithin(t *testing.T, n int, fn func(i int)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		race(n, fn)
	}()
	select {
	case <-done:
	case <-time.After(Liveness):
		require.FailNow(t, "concurrent transactions did not finish", "%d goroutines still running after %v: deadlock?", n, Liveness)
	}
}

func uowCommit(t *testing.T, db ports.Database, rec *jobRecorder) {
	existing := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 10 })
	u := NewUser()
	p := NewProduct(UniqueCategory())
	o := NewOrder(u.ID, Line(existing, 2), Line(p, 1))
	o.IdempotencyKey = RandomToken("idem-")
	tk := NewRefreshToken(u.ID, NewID())
	jobID, job := newJob()
	at := Now()
	var adjusted ecolaura.Product
	err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
		if err := tx.Users().Create(ctx, u); err != nil {
			return err
		}
		if err := tx.Products().Create(ctx, p); err != nil {
			return err
		}
		var err error
		if adjusted, err = AdjustStock(ctx, tx, StockAdjustment{ProductID: existing.ID, Delta: -2, At: at}); err != nil {
			return err
		}
		if err := tx.Orders().Create(ctx, o); err != nil {
			return err
		}
		if err := tx.RefreshTokens().Create(ctx, tk); err != nil {
			return err
		}
		return tx.Jobs().Enqueue(ctx, job)
	})
	require.NoError(t, err)

	gotU, err := db.Users().Get(ctx(t), u.ID)
	require.NoError(t, err, "committed user")
	requireUser(t, u, gotU)
	gotP, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err, "committed product")
	requireProduct(t, p, gotP)
	gotE, err := db.Products().Get(ctx(t), existing.ID)
	require.NoError(t, err)
	requireProduct(t, adjusted, gotE, "committed stock adjustment")
	require.Equal(t, 8, gotE.Stock)
	gotO, err := db.Orders().Get(ctx(t), o.ID)
	require.NoError(t, err, "committed order")
	requireOrder(t, o, gotO)
	gotK, err := db.Orders().GetByIdempotencyKey(ctx(t), u.ID, o.IdempotencyKey)
	require.NoError(t, err, "committed idempotency key")
	require.Equal(t, o.ID, gotK.ID)
	gotT, err := db.RefreshTokens().GetByHash(ctx(t), tk.Hash)
	require.NoError(t, err, "committed refresh token")
	requireToken(t, tk, gotT)
	rec.waitDelivered(t, jobID, 1, "job of a committed transaction")
}

// uowRollback writes to every store inside one transaction that then ends
// with end (an error or a panic) and checks that nothing of it is visible.
func uowRollback(t *testing.T, db ports.Database, rec *jobRecorder, end func() error, checkEnd func(t *testing.T, err error, recovered any)) {
	// Existing state the transaction changes.
	exU := mustCreateUser(t, db)
	exP := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 10 })
	exDel := mustCreateProduct(t, db)
	exO := NewOrder(exU.ID, Line(exP, 1))
	require.NoError(t, db.Orders().Create(ctx(t), exO))
	exT := NewRefreshToken(exU.ID, NewID())
	require.NoError(t, db.RefreshTokens().Create(ctx(t), exT))

	// New rows the transaction creates.
	u := NewUser()
	p := NewProduct(UniqueCategory())
	o := NewOrder(u.ID, Line(p, 1), Line(exP, 3))
	o.IdempotencyKey = RandomToken("idem-")
	tk := NewRefreshToken(u.ID, NewID())
	jobID, job := newJob()

	at := Now().Add(time.Minute)
	steps := []struct {
		name string
		run  func(ctx context.Context, tx ports.Tx) error
	}{
		{"create user", func(ctx context.Context, tx ports.Tx) error { return tx.Users().Create(ctx, u) }},
		{"create product", func(ctx context.Context, tx ports.Tx) error { return tx.Products().Create(ctx, p) }},
		{"create order", func(ctx context.Context, tx ports.Tx) error { return tx.Orders().Create(ctx, o) }},
		{"create token", func(ctx context.Context, tx ports.Tx) error { return tx.RefreshTokens().Create(ctx, tk) }},
		{"adjust stock", func(ctx context.Context, tx ports.Tx) error {
			_, err := AdjustStock(ctx, tx, StockAdjustment{ProductID: exP.ID, Delta: -3, At: at})
			return err
		}},
		{"update product", func(ctx context.Context, tx ports.Tx) error {
			cur, err := tx.Products().Get(ctx, exP.ID)
			if err != nil {
				return err
			}
			cur.Name, cur.Price.Amount = "rolled back", 1
			_, err = tx.Products().Update(ctx, cur)
			return err
		}},
		{"delete product", func(ctx context.Context, tx ports.Tx) error { return tx.Products().Delete(ctx, exDel.ID) }},
		{"transition order", func(ctx context.Context, tx ports.Tx) error {
			_, _, err := tx.Orders().Transition(ctx, ports.StatusChange{OrderID: exO.ID, To: ecolaura.StatusConfirmed, At: at})
			return err
		}},
		{"mark confirmation sent", func(ctx context.Context, tx ports.Tx) error {
			_, err := tx.Orders().MarkConfirmationSent(ctx, exO.ID, at)
			return err
		}},
		{"update user", func(ctx context.Context, tx ports.Tx) error {
			in := exU
			in.Name, in.Email = "rolled back", RandomToken("rb-")+"@example.org"
			_, err := tx.Users().Update(ctx, in)
			return err
		}},
		{"mark token used", func(ctx context.Context, tx ports.Tx) error {
			_, err := tx.RefreshTokens().MarkUsed(ctx, exT.ID, at)
			return err
		}},
		{"revoke user", func(ctx context.Context, tx ports.Tx) error { return tx.RefreshTokens().RevokeUser(ctx, exU.ID, at) }},
		{"enqueue job", func(ctx context.Context, tx ports.Tx) error { return tx.Jobs().Enqueue(ctx, job) }},
	}

	var stepErr error
	var recovered any
	var err error
	func() {
		defer func() { recovered = recover() }()
		err = db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			for _, s := range steps {
				if err := s.run(ctx, tx); err != nil {
					stepErr = fmt.Errorf("step %q: %w", s.name, err)
					return stepErr
				}
			}
			return end()
		})
	}()
	require.NoError(t, stepErr, "a write inside the transaction failed")
	checkEnd(t, err, recovered)

	_, err = db.Users().Get(ctx(t), u.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "user created in a rolled-back transaction")
	_, err = db.Users().GetByEmail(ctx(t), u.Email)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "email of a user created in a rolled-back transaction")
	_, err = db.Products().Get(ctx(t), p.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "product created in a rolled-back transaction")
	_, err = db.Orders().Get(ctx(t), o.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "order created in a rolled-back transaction")
	_, err = db.Orders().GetByIdempotencyKey(ctx(t), u.ID, o.IdempotencyKey)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "idempotency key of a rolled-back transaction")
	_, err = db.RefreshTokens().GetByHash(ctx(t), tk.Hash)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "token created in a rolled-back transaction")

	gotP, err := db.Products().Get(ctx(t), exP.ID)
	require.NoError(t, err)
	requireProduct(t, exP, gotP, "product updated and adjusted in a rolled-back transaction")
	gotDel, err := db.Products().Get(ctx(t), exDel.ID)
	require.NoError(t, err, "product deleted in a rolled-back transaction")
	requireProduct(t, exDel, gotDel)
	gotO, err := db.Orders().Get(ctx(t), exO.ID)
	require.NoError(t, err)
	requireOrder(t, exO, gotO, "order transitioned in a rolled-back transaction")
	gotU, err := db.Users().Get(ctx(t), exU.ID)
	require.NoError(t, err)
	requireUser(t, exU, gotU, "user updated in a rolled-back transaction")
	gotT, err := db.RefreshTokens().GetByHash(ctx(t), exT.Hash)
	require.NoError(t, err)
	requireToken(t, exT, gotT, "token used and revoked in a rolled-back transaction")

	// The new rows' keys are free again: the same writes can commit now.
	require.NoError(t, db.Users().Create(ctx(t), u), "email and ID of the rolled-back user are free")
	require.NoError(t, db.Products().Create(ctx(t), p), "ID of the rolled-back product is free")
	require.NoError(t, db.Orders().Create(ctx(t), o), "ID and idempotency key of the rolled-back order are free")
	require.NoError(t, db.RefreshTokens().Create(ctx(t), tk), "ID and hash of the rolled-back token are free")

	// A job committed later is delivered; the rolled-back one must not be.
	laterID, later := newJob()
	require.NoError(t, db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error { return tx.Jobs().Enqueue(ctx, later) }))
	rec.waitDelivered(t, laterID, 1, "job committed after the rolled-back transaction")
	require.Zero(t, rec.count(jobID), "job of a rolled-back transaction was delivered")
}

// customError checks that Do keeps fn's error intact.
type customError struct{ code int }

func (e *customError) Error() string { return fmt.Sprintf("porttest custom error %d", e.code) }

func uowErrorUnchanged(t *testing.T, db ports.Database) {
	sentinel := errors.New("porttest: sentinel")
	for _, tc := range []struct {
		name  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"sentinel", sentinel, func(t *testing.T, err error) { require.ErrorIs(t, err, sentinel) }},
		{"wrapped sentinel", fmt.Errorf("context: %w", sentinel), func(t *testing.T, err error) { require.ErrorIs(t, err, sentinel) }},
		{"custom type", &customError{code: 7}, func(t *testing.T, err error) {
			var ce *customError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, 7, ce.code)
		}},
		{"domain error", ecolaura.ErrConflict, func(t *testing.T, err error) { require.ErrorIs(t, err, ecolaura.ErrConflict) }},
		{"validation error", ecolaura.Invalid("name", "must not be blank"), func(t *testing.T, err error) {
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "name", ve.Fields[0].Field)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Do(ctx(t), func(context.Context, ports.Tx) error { return tc.err })
			require.Error(t, err)
			tc.check(t, err)
		})
	}
	t.Run("nil", func(t *testing.T) {
		require.NoError(t, db.Do(ctx(t), func(context.Context, ports.Tx) error { return nil }))
	})
	t.Run("error from a store", func(t *testing.T) {
		missing := NewID()
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			_, err := tx.Products().Get(ctx, missing)
			return err
		})
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("insufficient stock from a store", func(t *testing.T) {
		p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 2 })
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			_, err := AdjustStock(ctx, tx, StockAdjustment{ProductID: p.ID, Delta: -3, At: Now()})
			return err
		})
		var ise *ecolaura.InsufficientStockError
		require.ErrorAs(t, err, &ise)
		require.Equal(t, 2, ise.Available)
	})
}

func uowReadYourWrites(t *testing.T, db ports.Database) {
	exP := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 10 })
	u := NewUser()
	p := NewProduct(UniqueCategory())
	o := NewOrder(u.ID, Line(p, 1))
	o.IdempotencyKey = RandomToken("idem-")
	tk := NewRefreshToken(u.ID, NewID())
	at := Now().Add(time.Minute)

	type seen struct {
		product, adjusted, updated ecolaura.Product
		many                       []ecolaura.Product
		list                       ports.ProductPage
		cats                       []ecolaura.CategoryCount
		user                       ecolaura.User
		order, byKey, transitioned ecolaura.Order
		orders                     ports.OrderPage
		token                      ecolaura.RefreshToken
		deletedErr                 error
	}
	var s seen
	var updatedIn ecolaura.Product
	err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
		var err error
		ps, os, us, ts := tx.Products(), tx.Orders(), tx.Users(), tx.RefreshTokens()
		if err = ps.Create(ctx, p); err != nil {
			return err
		}
		if s.product, err = ps.Get(ctx, p.ID); err != nil {
			return fmt.Errorf("get own product: %w", err)
		}
		if s.many, err = ps.GetMany(ctx, []ecolaura.ID{p.ID, exP.ID}); err != nil {
			return err
		}
		if s.list, err = ps.List(ctx, ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: p.Category}, Limit: 10, WithTotal: true}); err != nil {
			return err
		}
		if s.cats, err = ps.Categories(ctx); err != nil {
			return err
		}
		if _, err = AdjustStock(ctx, tx, StockAdjustment{ProductID: exP.ID, Delta: -4, At: at}); err != nil {
			return err
		}
		if s.adjusted, err = ps.Get(ctx, exP.ID); err != nil {
			return err
		}
		updatedIn = s.adjusted.Clone()
		updatedIn.Name = "changed in tx"
		if _, err = ps.Update(ctx, updatedIn); err != nil {
			return err
		}
		if s.updated, err = ps.Get(ctx, exP.ID); err != nil {
			return err
		}
		if err = us.Create(ctx, u); err != nil {
			return err
		}
		if s.user, err = us.GetByEmail(ctx, u.Email); err != nil {
			return fmt.Errorf("get own user by email: %w", err)
		}
		if err = os.Create(ctx, o); err != nil {
			return err
		}
		if s.order, err = os.Get(ctx, o.ID); err != nil {
			return fmt.Errorf("get own order: %w", err)
		}
		if s.byKey, err = os.GetByIdempotencyKey(ctx, u.ID, o.IdempotencyKey); err != nil {
			return fmt.Errorf("get own order by key: %w", err)
		}
		if s.orders, err = os.List(ctx, ports.OrderQuery{UserID: u.ID, Limit: 10, WithTotal: true}); err != nil {
			return err
		}
		if _, _, err = os.Transition(ctx, ports.StatusChange{OrderID: o.ID, To: ecolaura.StatusConfirmed, At: at}); err != nil {
			return err
		}
		if s.transitioned, err = os.Get(ctx, o.ID); err != nil {
			return err
		}
		if err = ts.Create(ctx, tk); err != nil {
			return err
		}
		if _, err = ts.MarkUsed(ctx, tk.ID, at); err != nil {
			return err
		}
		if s.token, err = ts.GetByHash(ctx, tk.Hash); err != nil {
			return fmt.Errorf("get own token: %w", err)
		}
		if err = ps.Delete(ctx, p.ID); err != nil {
			return err
		}
		_, s.deletedErr = ps.Get(ctx, p.ID)
		return nil
	})
	require.NoError(t, err)

	requireProduct(t, p, s.product, "Get of a product created in the transaction")
	require.Equal(t, []ecolaura.ID{p.ID, exP.ID}, productIDs(s.many), "GetMany inside the transaction")
	require.Equal(t, []ecolaura.ID{p.ID}, productIDs(s.list.Items), "List inside the transaction")
	require.Equal(t, 1, s.list.Total)
	require.Contains(t, s.cats, ecolaura.CategoryCount{Category: p.Category, Products: 1}, "Categories inside the transaction")
	require.Equal(t, 6, s.adjusted.Stock, "stock after AdjustStock inside the transaction")
	require.Equal(t, exP.Version, s.adjusted.Version, "a stock change does not bump the version")
	require.Equal(t, "changed in tx", s.updated.Name)
	require.Equal(t, updatedIn.Version+1, s.updated.Version)
	requireUser(t, u, s.user, "GetByEmail of a user created in the transaction")
	requireOrder(t, o, s.order, "Get of an order created in the transaction")
	require.Equal(t, o.ID, s.byKey.ID)
	require.Equal(t, []ecolaura.ID{o.ID}, orderIDs(s.orders.Items), "order List inside the transaction")
	require.Equal(t, ecolaura.StatusConfirmed, s.transitioned.Status)
	require.NotNil(t, s.token.UsedAt, "MarkUsed inside the transaction")
	require.ErrorIs(t, s.deletedErr, ecolaura.ErrNotFound, "Get after Delete inside the transaction")

	// And all of it was committed.
	got, err := db.Products().Get(ctx(t), exP.ID)
	require.NoError(t, err)
	requireProduct(t, s.updated, got)
	_, err = db.Products().Get(ctx(t), p.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	gotO, err := db.Orders().Get(ctx(t), o.ID)
	require.NoError(t, err)
	requireOrder(t, s.transitioned, gotO)
}

// uowNoDirtyReads reads, from another goroutine and outside the
// transaction, rows that a transaction has written but then rolls back. The
// reader may run while the transaction is open (it must not see the writes)
// or be blocked until it ends (it must then see the rolled-back state); the
// transaction does not wait for the reader beyond a short grace period, so a
// store that blocks readers cannot deadlock the test.
func uowNoDirtyReads(t *testing.T, db ports.Database) {
	exP := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 5 })
	p := NewProduct(UniqueCategory())
	u := NewUser()
	type result struct {
		newErr   error
		existing ecolaura.Product
		exErr    error
		userErr  error
	}
	results := make(chan result, 1)
	boom := errors.New("porttest: roll back")
	err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
		if err := tx.Products().Create(ctx, p); err != nil {
			return err
		}
		if _, err := AdjustStock(ctx, tx, StockAdjustment{ProductID: exP.ID, Delta: -3, At: Now()}); err != nil {
			return err
		}
		if err := tx.Users().Create(ctx, u); err != nil {
			return err
		}
		go func() {
			var r result
			_, r.newErr = db.Products().Get(context.Background(), p.ID)
			r.existing, r.exErr = db.Products().Get(context.Background(), exP.ID)
			_, r.userErr = db.Users().GetByEmail(context.Background(), u.Email)
			results <- r
		}()
		select {
		case r := <-results:
			results <- r
		case <-time.After(200 * time.Millisecond):
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	var r result
	select {
	case r = <-results:
	case <-time.After(Liveness):
		require.FailNow(t, "a reader outside the transaction was still blocked after the rollback")
	}
	require.ErrorIs(t, r.newErr, ecolaura.ErrNotFound, "a product created by an uncommitted transaction was visible")
	require.NoError(t, r.exErr)
	require.Equal(t, 5, r.existing.Stock, "a stock change of an uncommitted transaction was visible")
	require.ErrorIs(t, r.userErr, ecolaura.ErrNotFound, "a user created by an uncommitted transaction was visible")
}

// uowReadCommitted: a transaction reads a product; while it is open another
// caller changes the product and commits (it must not have to wait for the
// reading transaction); the transaction's next read sees that commit (READ
// COMMITTED, not a snapshot), and its guarded write based on the first read
// fails with ErrConflict instead of overwriting the commit.
func uowReadCommitted(t *testing.T, db ports.Database) {
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 5 })
	other := make(chan error, 1)
	var first, second ecolaura.Product
	var updateErr error
	err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
		var err error
		if first, err = tx.Products().Get(ctx, p.ID); err != nil {
			return err
		}
		go func() {
			// A stock movement and a catalog edit, each committed on its own.
			_, err := AdjustStock(context.Background(), db, StockAdjustment{ProductID: p.ID, Delta: -1, At: Now()})
			if err == nil {
				var cur ecolaura.Product
				if cur, err = db.Products().Get(context.Background(), p.ID); err == nil {
					cur.Name = "renamed outside the transaction"
					_, err = db.Products().Update(context.Background(), cur)
				}
			}
			other <- err
		}()
		select {
		case err := <-other:
			if err != nil {
				return fmt.Errorf("the concurrent stock change failed: %w", err)
			}
		case <-time.After(Liveness):
			return errors.New("a write outside the transaction waited for a transaction that had only read the row: reads must not lock")
		}
		if second, err = tx.Products().Get(ctx, p.ID); err != nil {
			return err
		}
		stale := first
		stale.Name = "based on a stale read"
		_, updateErr = tx.Products().Update(ctx, stale)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 5, first.Stock)
	require.Equal(t, 4, second.Stock, "a read inside a transaction sees what another transaction committed since its previous read")
	require.Equal(t, first.Version+1, second.Version)
	require.ErrorIs(t, updateErr, ecolaura.ErrConflict, "a guarded write is evaluated against the latest commit, not the transaction's earlier read")
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	require.Equal(t, 4, got.Stock)
	require.Equal(t, "renamed outside the transaction", got.Name, "the stale write did not overwrite the commit")
}

// uowGuardedWrite: transaction A marks a refresh token used and stays open;
// transaction B reads the token (it must not wait for A, and sees it unused:
// no dirty read), then tries to mark it used itself. B's write must wait for
// A to end and then be evaluated against A's outcome: false when A commits
// (the loser of two concurrent refreshes), true when A rolls back.
func uowGuardedWrite(t *testing.T, db ports.Database, commit bool) {
	u := mustCreateUser(t, db)
	tok := NewRefreshToken(u.ID, NewID())
	require.NoError(t, db.RefreshTokens().Create(ctx(t), tok))

	type outcome struct {
		read    ecolaura.RefreshToken
		readErr error
		won     bool
		markErr error
	}
	readDone := make(chan outcome, 1)
	markDone := make(chan outcome, 1)
	var aEnded atomic.Bool
	// b is transaction B, started once A has marked the token.
	b := func() {
		var o outcome
		err := db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
			o = outcome{}
			o.read, o.readErr = tx.RefreshTokens().GetByHash(ctx, tok.Hash)
			readDone <- o
			o.won, o.markErr = tx.RefreshTokens().MarkUsed(ctx, tok.ID, Now())
			if o.markErr == nil && !aEnded.Load() {
				o.markErr = errors.New("MarkUsed returned while the transaction holding the row was still open")
			}
			return o.markErr
		})
		if o.markErr == nil {
			o.markErr = err
		}
		markDone <- o
	}

	boom := errors.New("porttest: roll back")
	err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
		won, err := tx.RefreshTokens().MarkUsed(ctx, tok.ID, Now())
		if err != nil || !won {
			return fmt.Errorf("the first MarkUsed of a fresh token: won=%v err=%v", won, err)
		}
		go b()
		select {
		case o := <-readDone:
			if o.readErr != nil {
				return fmt.Errorf("the concurrent read failed: %w", o.readErr)
			}
			if o.read.UsedAt != nil {
				return errors.New("a concurrent transaction saw the token used before the marking transaction ended (dirty read)")
			}
		case <-time.After(Liveness):
			return errors.New("a read waited for a transaction that had written the row: reads must not lock")
		}
		select { // give the other MarkUsed time to wrongly return early
		case o := <-markDone:
			markDone <- o
		case <-time.After(100 * time.Millisecond):
		}
		aEnded.Store(true)
		if !commit {
			return boom
		}
		return nil
	})
	if commit {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, boom)
	}
	var o outcome
	select {
	case o = <-markDone:
	case <-time.After(Liveness):
		require.FailNow(t, "the waiting MarkUsed never returned after the other transaction ended")
	}
	require.NoError(t, o.markErr)
	if commit {
		require.False(t, o.won, "the second MarkUsed is evaluated against the committed first one: it loses")
	} else {
		require.True(t, o.won, "the first MarkUsed was rolled back: the second one wins")
	}
}

// uowOversell has 200 goroutines race to buy the last 10 units, each in one
// transaction that writes the order first and then takes the stock.
func uowOversell(t *testing.T, db ports.Database) {
	const stock, buyers = 10, 200
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = stock })
	u := mustCreateUser(t, db)
	created := make([]ecolaura.ID, buyers)
	errs := make([]error, buyers)
	raceWithin(t, buyers, func(i int) {
		o := NewOrder(u.ID, Line(p, 1))
		errs[i] = db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.Orders().Create(ctx, o); err != nil {
				return err
			}
			_, err := AdjustStock(ctx, tx, StockAdjustment{ProductID: p.ID, Delta: -1, At: Now()})
			return err
		})
		if errs[i] == nil {
			created[i] = o.ID
		}
	})
	var sold []ecolaura.ID
	for i, err := range errs {
		if err == nil {
			sold = append(sold, created[i])
			continue
		}
		require.ErrorIs(t, err, ecolaura.ErrInsufficientStock, "buyer %d", i)
	}
	require.Len(t, sold, stock, "exactly the available units are sold")
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	require.Equal(t, 0, got.Stock, "stock ends at zero")
	require.Equal(t, p.Version, got.Version, "sales do not bump the product's version")
	page, err := db.Orders().List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 1000, WithTotal: true})
	require.NoError(t, err)
	require.ElementsMatch(t, sold, orderIDs(page.Items), "exactly the successful buyers' orders exist")
	require.Equal(t, stock, page.Total)
	for _, o := range page.Items {
		require.Len(t, o.Lines, 1, "order %s is complete", o.ID)
		require.Equal(t, p.ID, o.Lines[0].ProductID)
		require.Equal(t, 1, o.Lines[0].Quantity)
	}
}

// retryConflicts runs fn until it returns something other than ErrConflict,
// at most 10,000 times, and returns that and the number of attempts.
func retryConflicts(fn func() error) (int, error) {
	var err error
	for attempt := 1; attempt <= 10_000; attempt++ {
		if err = fn(); !errors.Is(err, ecolaura.ErrConflict) {
			return attempt, err
		}
	}
	return 10_000, err
}

// uowNoLostUpdates increments a product's stock with read-modify-write
// transactions (Get, then Update with the version read) from many
// goroutines, retrying on ErrConflict: every increment must survive.
func uowNoLostUpdates(t *testing.T, db ports.Database) {
	const n = 30
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 100 })
	errs := make([]error, n)
	raceWithin(t, n, func(i int) {
		_, errs[i] = retryConflicts(func() error {
			return db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
				cur, err := tx.Products().Get(ctx, p.ID)
				if err != nil {
					return err
				}
				cur.Price.Amount++
				cur.Variants[0].Price = cur.Price
				_, err = tx.Products().Update(ctx, cur)
				return err
			})
		})
	})
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	require.Equal(t, p.Price.Amount+n, got.Price.Amount, "lost updates")
	require.Equal(t, p.Version+n, got.Version)
}

// uowTransfers moves stock between two products in transactions that read
// both and update both, half of them in each direction (so the rows are
// touched in opposite orders), retrying on ErrConflict. The sum is
// invariant and each successful transfer bumps both versions once.
func uowTransfers(t *testing.T, db ports.Database) {
	const n, each = 4, 3
	cat := UniqueCategory()
	a := NewProduct(cat, func(p *ecolaura.Product) { p.Stock = 1000 })
	b := NewProduct(cat, func(p *ecolaura.Product) { p.Stock = 1000 })
	mustCreateProducts(t, db, a, b)
	errs := make([]error, n)
	raceWithin(t, n, func(i int) {
		from, to := a.ID, b.ID
		if i%2 == 1 {
			from, to = to, from
		}
		for range each {
			_, err := retryConflicts(func() error {
				return db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
					src, err := tx.Products().Get(ctx, from)
					if err != nil {
						return err
					}
					dst, err := tx.Products().Get(ctx, to)
					if err != nil {
						return err
					}
					src.Stock--
					dst.Stock++
					if _, err := tx.Products().Update(ctx, src); err != nil {
						return err
					}
					_, err = tx.Products().Update(ctx, dst)
					return err
				})
			})
			if err != nil {
				errs[i] = err
				return
			}
		}
	})
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	gotA, err := db.Products().Get(ctx(t), a.ID)
	require.NoError(t, err)
	gotB, err := db.Products().Get(ctx(t), b.ID)
	require.NoError(t, err)
	require.Equal(t, 2000, gotA.Stock+gotB.Stock, "stock was created or lost by concurrent transfers")
	require.Equal(t, 1000, gotA.Stock, "as many transfers ran each way")
	require.Equal(t, a.Version+n*each, gotA.Version)
	require.Equal(t, b.Version+n*each, gotB.Version)
}

// uowIdempotency has 50 goroutines check out with one idempotency key, each
// in a transaction that looks the key up, returns the existing order if
// there is one, and otherwise takes stock and creates the order.
func uowIdempotency(t *testing.T, db ports.Database) {
	const n = 50
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 100 })
	u := mustCreateUser(t, db)
	key := RandomToken("idem-")
	createdBy := make([]bool, n)
	results := make([]ecolaura.ID, n)
	errs := make([]error, n)
	raceWithin(t, n, func(i int) {
		o := NewOrder(u.ID, Line(p, 1))
		o.IdempotencyKey = key
		errs[i] = db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
			createdBy[i] = false
			existing, err := tx.Orders().GetByIdempotencyKey(ctx, u.ID, key)
			if err == nil {
				results[i] = existing.ID
				return nil
			}
			if !errors.Is(err, ecolaura.ErrNotFound) {
				return err
			}
			if _, err := AdjustStock(ctx, tx, StockAdjustment{ProductID: p.ID, Delta: -1, At: Now()}); err != nil {
				return err
			}
			if err := tx.Orders().Create(ctx, o); err != nil {
				return err
			}
			results[i], createdBy[i] = o.ID, true
			return nil
		})
	})
	created := 0
	var winner ecolaura.ID
	for i := range n {
		if errs[i] != nil {
			require.ErrorIs(t, errs[i], ecolaura.ErrConflict, "goroutine %d", i)
			continue
		}
		if createdBy[i] {
			created++
			winner = results[i]
		}
	}
	require.Equal(t, 1, created, "exactly one transaction creates the order")
	for i := range n {
		if errs[i] == nil {
			require.Equal(t, winner, results[i], "goroutine %d got another order", i)
		}
	}
	page, err := db.Orders().List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 100})
	require.NoError(t, err)
	require.Equal(t, []ecolaura.ID{winner}, orderIDs(page.Items), "exactly one order exists")
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	require.Equal(t, 99, got.Stock, "stock is taken exactly once")
}

// uowCancelled runs a transaction with a context that is already cancelled.
// Whether Do refuses it or runs it is up to the implementation; what it
// reports must match what happened: an error means nothing was stored, nil
// means everything was.
func uowCancelled(t *testing.T, db ports.Database) {
	cctx, cancel := context.WithCancel(ctx(t))
	cancel()
	p := NewProduct(UniqueCategory())
	u := NewUser()
	err := db.Do(cctx, func(ctx context.Context, tx ports.Tx) error {
		if err := tx.Products().Create(ctx, p); err != nil {
			return err
		}
		return tx.Users().Create(ctx, u)
	})
	_, errP := db.Products().Get(ctx(t), p.ID)
	_, errU := db.Users().Get(ctx(t), u.ID)
	if err != nil {
		require.ErrorIs(t, errP, ecolaura.ErrNotFound, "Do failed (%v) but the product was stored", err)
		require.ErrorIs(t, errU, ecolaura.ErrNotFound, "Do failed (%v) but the user was stored", err)
		return
	}
	require.NoError(t, errP, "Do succeeded but the product was not stored")
	require.NoError(t, errU, "Do succeeded but the user was not stored")
}
