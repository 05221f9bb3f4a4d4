package storetest_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// TestStoresAreFreshAndRunJobs: every store gives each test an empty
// database of its own whose jobs wait for StartJobs, are counted, retried
// up to MaxAttempts and then counted dead.
func TestStoresAreFreshAndRunJobs(t *testing.T) {
	var names []string
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		names = append(names, s.Name())
		ctx := context.Background()
		db := s.Open(t, storetest.JobsConfig{MaxAttempts: 2})
		page, err := db.Products().List(ctx, ports.ProductQuery{Limit: 10, WithTotal: true})
		require.NoError(t, err)
		assert.Zero(t, page.Total, "a fresh database is empty")
		require.NoError(t, db.Products().Create(ctx, porttest.NewProduct(porttest.UniqueCategory())))

		require.NoError(t, db.Enqueue(ctx, ports.Job{Kind: "ok"}))
		require.NoError(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "fail"})
		}))
		assert.Equal(t, storetest.JobCounts{Queued: 2}, db.Jobs(t), "jobs wait for StartJobs")
		var runs atomic.Int32
		db.StartJobs(t, ports.JobHandlerFunc(func(_ context.Context, j ports.Job) error {
			runs.Add(1)
			if j.Kind == "fail" {
				return errors.New("always fails")
			}
			return nil
		}))
		db.WaitJobs(t)
		assert.Equal(t, storetest.JobCounts{Succeeded: 1, Dead: 1}, db.Jobs(t))
		assert.EqualValues(t, 3, runs.Load(), "the failing job ran MaxAttempts times")
	})
	assert.Equal(t, []string{"memory", "postgres"}, names)
	other := storetest.Memory.Open(t, storetest.JobsConfig{})
	page, err := other.Products().List(context.Background(), ports.ProductQuery{Limit: 10, WithTotal: true})
	require.NoError(t, err)
	assert.Zero(t, page.Total)
}
