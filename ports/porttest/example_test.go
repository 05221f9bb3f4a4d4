package porttest_test

import (
	"context"
	"testing"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// An adapter's test file runs every suite that takes a DatabaseFactory with
// porttest.Database (the cache's suite is adapters/productcache/cachetest). Shown here with the memory adapter.
func Example() {
	_ = func(t *testing.T) {
		porttest.Database(t, func(t *testing.T, jobs ports.JobHandler) ports.Database {
			runner := memory.NewJobRunner()
			if err := runner.Start(context.Background(), jobs); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = runner.Stop(context.Background()) })
			return memory.NewDatabase(memory.WithJobRunner(runner))
		})
	}
}
