package postgres_test

import (
	"testing"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// Every suite that takes a DatabaseFactory (ProductStore, OrderStore,
// UserStore, RefreshTokenStore, UnitOfWork, JobQueue) runs, each suite on a
// database of its own (see factory), dropped when the test ends.
func TestConformance(t *testing.T) {
	porttest.Database(t, factory)
}

// The same suites with nothing prepared by name, as behind PgBouncer in
// transaction pooling mode (default_query_exec_mode=exec in the URL):
// parameter types then come from the Go values, not from the server.
func TestConformanceExecMode(t *testing.T) {
	porttest.Database(t, func(t *testing.T, jobs ports.JobHandler) ports.Database {
		t.Helper()
		db := openDBWith(t, postgres.Config{}, "exec")
		if jobs != nil {
			startJobs(t, db, jobs)
		}
		return db
	})
}
