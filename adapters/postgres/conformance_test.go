package postgres_test

import (
	"testing"

	"github.com/ecolaura/ecolaura/adapters/porttest"
)

// Each suite gets databases of its own (see factory); every subtest that
// asks the factory gets a fresh one.

func TestProductStoreConformance(t *testing.T)      { porttest.ProductStore(t, factory) }
func TestOrderStoreConformance(t *testing.T)        { porttest.OrderStore(t, factory) }
func TestUserStoreConformance(t *testing.T)         { porttest.UserStore(t, factory) }
func TestRefreshTokenStoreConformance(t *testing.T) { porttest.RefreshTokenStore(t, factory) }
func TestJobQueueConformance(t *testing.T)          { porttest.JobQueue(t, factory) }
