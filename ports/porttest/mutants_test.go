package porttest_test

import (
	"cmp"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// The suites must be able to fail: TestSuitesCatchMutants runs each suite
// in a child process against a deliberately broken wrapper of the memory
// adapter (a mutant) and expects the named subtest to fail. The child is this
// test binary running TestMutant with envMutant set.

const envMutant = "PORTTEST_MUTANT"

type mutant struct {
	name string
	// suite runs the suite under test on the mutant.
	suite func(t *testing.T)
	// wantFail is a subtest of TestMutant that must fail.
	wantFail string
}

// productsMutant wraps the product store of a memory database, inside and
// outside transactions.
type productsMutant struct {
	ports.Database
	wrap func(ports.ProductStore) ports.ProductStore
	// inv wraps the inventory store when set.
	inv func(ports.InventoryStore) ports.InventoryStore
	// jobs replaces the transaction's job queue when set.
	jobs ports.JobQueue
	// notAtomic runs fn on the plain stores, outside any transaction.
	notAtomic bool
	// serial, when set, is held by every transaction from start to end and
	// by stock changes outside transactions: transactions are serializable,
	// which the port does not promise (it hides the races of READ COMMITTED).
	serial *sync.Mutex
}

func (m *productsMutant) Products() ports.ProductStore {
	s := m.Database.Products()
	if m.wrap == nil {
		return s
	}
	return m.wrap(s)
}

func (m *productsMutant) Inventory() ports.InventoryStore {
	s := m.Database.Inventory()
	if m.serial != nil {
		s = serialInventory{InventoryStore: s, mu: m.serial}
	}
	if m.inv == nil {
		return s
	}
	return m.inv(s)
}

func (m *productsMutant) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	if m.notAtomic {
		return fn(ctx, mutantTx{Stores: m.Database, jobs: m.jobs})
	}
	if m.serial != nil {
		m.serial.Lock()
		defer m.serial.Unlock()
	}
	return m.Database.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		mt := mutantTx{Stores: tx, jobs: tx.Jobs(), wrap: m.wrap, inv: m.inv}
		if m.jobs != nil {
			mt.jobs = m.jobs
		}
		return fn(ctx, mt)
	})
}

type mutantTx struct {
	ports.Stores
	jobs ports.JobQueue
	wrap func(ports.ProductStore) ports.ProductStore
	inv  func(ports.InventoryStore) ports.InventoryStore
}

func (t mutantTx) Inventory() ports.InventoryStore {
	if t.inv == nil {
		return t.Stores.Inventory()
	}
	return t.inv(t.Stores.Inventory())
}

func (t mutantTx) Jobs() ports.JobQueue { return t.jobs }

func (t mutantTx) Products() ports.ProductStore {
	if t.wrap == nil {
		return t.Stores.Products()
	}
	return t.wrap(t.Stores.Products())
}

// listMutant changes List queries or pages.
type listMutant struct {
	ports.ProductStore
	query func(*ports.ProductQuery)
	page  func(*ports.ProductPage)
}

func (l listMutant) List(ctx context.Context, q ports.ProductQuery) (ports.ProductPage, error) {
	if l.query != nil {
		l.query(&q)
	}
	p, err := l.ProductStore.List(ctx, q)
	if l.page != nil {
		l.page(&p)
	}
	return p, err
}

type getManySorted struct{ ports.ProductStore }

func (g getManySorted) GetMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	ps, err := g.ProductStore.GetMany(ctx, ids)
	slices.SortFunc(ps, func(a, b ecolaura.Product) int { return cmp.Compare(a.ID, b.ID) })
	return ps, err
}

// lastWriterWins drops the version check of Update.
type lastWriterWins struct{ ports.ProductStore }

func (l lastWriterWins) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	cur, err := l.ProductStore.Get(ctx, p.ID)
	if err != nil {
		return ecolaura.Product{}, err
	}
	p.Version = cur.Version
	return l.ProductStore.Update(ctx, p)
}

// serialInventory takes the serial lock for stock changes outside
// transactions.
type serialInventory struct {
	ports.InventoryStore
	mu *sync.Mutex
}

func (s serialInventory) Change(ctx context.Context, c ports.InventoryChange) (ports.InventoryResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.InventoryStore.Change(ctx, c)
}

// stripsNUL removes U+0000 from names and descriptions before storing them,
// as bun's pgdriver does with query parameters: the product is stored, but
// not as given.
type stripsNUL struct{ ports.ProductStore }

func (s stripsNUL) clean(p ecolaura.Product) ecolaura.Product {
	p.Name, p.Description = strings.ReplaceAll(p.Name, "\x00", ""), strings.ReplaceAll(p.Description, "\x00", "")
	return p
}

func (s stripsNUL) Create(ctx context.Context, p ecolaura.Product) error {
	return s.ProductStore.Create(ctx, s.clean(p))
}

func (s stripsNUL) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	return s.ProductStore.Update(ctx, s.clean(p))
}

// neverSaturates ignores InventoryChange.Saturate.
type neverSaturates struct{ ports.InventoryStore }

func (n neverSaturates) Change(ctx context.Context, c ports.InventoryChange) (ports.InventoryResult, error) {
	c.Saturate = false
	return n.InventoryStore.Change(ctx, c)
}

// sellsBelowZero takes units from the default location without looking at
// the level (an unguarded decrement).
type sellsBelowZero struct{ ports.InventoryStore }

func (n sellsBelowZero) Sell(ctx context.Context, sales ...ports.Sale) ([]ports.InventoryResult, error) {
	var out []ports.InventoryResult
	for _, s := range sales {
		r, err := n.InventoryStore.Change(ctx, ports.InventoryChange{VariantID: s.VariantID, Set: true, Quantity: 0,
			Reason: ecolaura.MoveSale, OrderID: s.OrderID, At: s.At})
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

type dropJobs struct{}

func (dropJobs) Enqueue(context.Context, ports.Job) error { return nil }

// dbMutant returns a DatabaseFactory over memory whose database is changed
// by mutate; mutate also gets the job runner.
func dbMutant(mutate func(m *productsMutant, r *memory.JobRunner)) porttest.DatabaseFactory {
	return func(t *testing.T, jobs ports.JobHandler) ports.Database {
		r := memory.NewJobRunner(memory.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
		require.NoError(t, r.Start(context.Background(), jobs))
		t.Cleanup(func() { _ = r.Stop(context.Background()) })
		m := &productsMutant{Database: memory.NewDatabase(memory.WithJobRunner(r))}
		mutate(m, r)
		return m
	}
}

func wrapProducts(w func(ports.ProductStore) ports.ProductStore) porttest.DatabaseFactory {
	return dbMutant(func(m *productsMutant, _ *memory.JobRunner) { m.wrap = w })
}

func mutants() []mutant {
	products := func(w func(ports.ProductStore) ports.ProductStore) func(t *testing.T) {
		return func(t *testing.T) { porttest.ProductStore(t, wrapProducts(w)) }
	}
	return []mutant{
		{"list-ignores-query", products(func(s ports.ProductStore) ports.ProductStore {
			return listMutant{ProductStore: s, query: func(q *ports.ProductQuery) { q.Filter.Query = "" }}
		}), "TestMutant/List/query_with_a_percent_sign/newest"},
		{"search-sorts-by-id", products(func(s ports.ProductStore) ports.ProductStore {
			return listMutant{ProductStore: s, page: func(p *ports.ProductPage) {
				slices.SortFunc(p.Items, func(a, b ecolaura.Product) int { return cmp.Compare(b.ID, a.ID) })
			}}
		}), "TestMutant/Search/option_value,_below_the_name,_above_the_description"},
		{"search-without-corrections", products(func(s ports.ProductStore) ports.ProductStore {
			return listMutant{ProductStore: s, query: func(q *ports.ProductQuery) {
				if q.Filter.Query == "bambo toothbrsh" {
					q.Filter.Query = `"bambo toothbrsh"` // a phrase: never corrected
				}
			}}
		}), "TestMutant/Search/typos"},
		{"list-ignores-in-stock", products(func(s ports.ProductStore) ports.ProductStore {
			return listMutant{ProductStore: s, query: func(q *ports.ProductQuery) { q.Filter.InStock = false }}
		}), "TestMutant/List/in_stock/score"},
		{"list-ignores-cursor", products(func(s ports.ProductStore) ports.ProductStore {
			return listMutant{ProductStore: s, query: func(q *ports.ProductQuery) { q.After = nil }}
		}), "TestMutant/List/category/price"},
		{"list-never-has-more", products(func(s ports.ProductStore) ports.ProductStore {
			return listMutant{ProductStore: s, page: func(p *ports.ProductPage) { p.HasMore = false }}
		}), "TestMutant/ListOffset/category/footprint"},
		{"list-total-always", products(func(s ports.ProductStore) ports.ProductStore {
			return listMutant{ProductStore: s, query: func(q *ports.ProductQuery) { q.WithTotal = true }}
		}), "TestMutant/ListOffset/in_stock/newest"},
		{"create-strips-nul", products(func(s ports.ProductStore) ports.ProductStore { return stripsNUL{s} }),
			"TestMutant/Constraints/name_NUL/Create"},
		{"adjust-stock-never-saturates", func(t *testing.T) {
			porttest.ProductStore(t, dbMutant(func(m *productsMutant, _ *memory.JobRunner) {
				m.inv = func(s ports.InventoryStore) ports.InventoryStore { return neverSaturates{s} }
			}))
		}, "TestMutant/StockMaximum"},
		{"sell-unguarded", func(t *testing.T) {
			porttest.InventoryStore(t, dbMutant(func(m *productsMutant, _ *memory.JobRunner) {
				m.inv = func(s ports.InventoryStore) ports.InventoryStore { return sellsBelowZero{s} }
			}))
		}, "TestMutant/SellRace"},
		{"getmany-sorted", products(func(s ports.ProductStore) ports.ProductStore { return getManySorted{s} }),
			"TestMutant/GetMany/in_the_order_asked"},
		{"update-last-writer-wins", products(func(s ports.ProductStore) ports.ProductStore { return lastWriterWins{s} }),
			"TestMutant/Update/stale_version"},
		{"tx-not-atomic", func(t *testing.T) {
			porttest.UnitOfWork(t, dbMutant(func(m *productsMutant, r *memory.JobRunner) { m.notAtomic, m.jobs = true, r }))
		}, "TestMutant/RollbackOnError"},
		{"tx-serializable", func(t *testing.T) {
			porttest.UnitOfWork(t, dbMutant(func(m *productsMutant, _ *memory.JobRunner) { m.serial = &sync.Mutex{} }))
		}, "TestMutant/ReadCommitted"},
		{"tx-serializable-token", func(t *testing.T) {
			porttest.UnitOfWork(t, dbMutant(func(m *productsMutant, _ *memory.JobRunner) { m.serial = &sync.Mutex{} }))
		}, "TestMutant/GuardedWriteWaitsForCommit"},
		{"tx-jobs-dropped", func(t *testing.T) {
			porttest.JobQueue(t, dbMutant(func(m *productsMutant, _ *memory.JobRunner) { m.jobs = dropJobs{} }))
		}, "TestMutant/Delivered"},
	}
}

// TestMutant runs one suite on the mutant named by envMutant; it is the
// child process of TestSuitesCatchMutants and skips otherwise.
func TestMutant(t *testing.T) {
	name := os.Getenv(envMutant)
	if name == "" {
		t.Skip("runs only as a child of TestSuitesCatchMutants")
	}
	porttest.Liveness = 2 * time.Second // the mutants that hang should fail fast
	for _, m := range mutants() {
		if m.name == name {
			m.suite(t)
			return
		}
	}
	t.Fatalf("unknown mutant %q", name)
}

func TestSuitesCatchMutants(t *testing.T) {
	if os.Getenv(envMutant) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("runs a child process per mutant")
	}
	for _, m := range mutants() {
		t.Run(m.name, func(t *testing.T) {
			parts := strings.Split(m.wantFail, "/")
			for i, p := range parts {
				parts[i] = "^" + regexp.QuoteMeta(p) + "$"
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), envMutant+"="+m.name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed on mutant %s; output:\n%s", m.name, out)
			require.Contains(t, string(out), "--- FAIL: "+m.wantFail+" ", "mutant %s must fail %s; output:\n%s", m.name, m.wantFail, tail(string(out), 60))
		})
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	return strings.Join(ls[max(0, len(ls)-lines):], "\n")
}
