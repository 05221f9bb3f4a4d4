package postgres_test

import (
	"testing"

	"github.com/ecolaura/ecolaura/ports/porttest"
)

// Every suite that takes a DatabaseFactory (ProductStore, OrderStore,
// UserStore, RefreshTokenStore, UnitOfWork, JobQueue) runs on both
// drivers, each suite on a database of its own (see factory), dropped when
// the test ends.
func TestConformance(t *testing.T) {
	for _, driver := range drivers {
		t.Run(string(driver), func(t *testing.T) { porttest.Database(t, factory(driver)) })
	}
}
