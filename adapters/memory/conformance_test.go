package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// newConformanceDB is the porttest.DatabaseFactory of the memory adapter: a
// fresh database whose job runner delivers to jobs, stopped at cleanup.
func newConformanceDB(t *testing.T, jobs ports.JobHandler) ports.Database {
	t.Helper()
	r := memory.NewJobRunner(memory.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	require.NoError(t, r.Start(context.Background(), jobs))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
	})
	return memory.NewDatabase(memory.WithJobRunner(r))
}

func TestConformanceProductStore(t *testing.T) { porttest.ProductStore(t, newConformanceDB) }

func TestConformanceInventoryStore(t *testing.T) { porttest.InventoryStore(t, newConformanceDB) }

func TestConformanceOrderStore(t *testing.T) { porttest.OrderStore(t, newConformanceDB) }

func TestConformanceUserStore(t *testing.T) { porttest.UserStore(t, newConformanceDB) }

func TestConformanceRefreshTokenStore(t *testing.T) {
	porttest.RefreshTokenStore(t, newConformanceDB)
}

func TestConformanceUnitOfWork(t *testing.T) { porttest.UnitOfWork(t, newConformanceDB) }

func TestConformanceJobQueue(t *testing.T) { porttest.JobQueue(t, newConformanceDB) }

func TestConformanceAccountTokenStore(t *testing.T) {
	porttest.AccountTokenStore(t, newConformanceDB)
}

func TestConformanceAuditLog(t *testing.T) { porttest.AuditLog(t, newConformanceDB) }

func TestConformanceAddressStore(t *testing.T) { porttest.AddressStore(t, newConformanceDB) }

func TestConformanceShippingMethodStore(t *testing.T) {
	porttest.ShippingMethodStore(t, newConformanceDB)
}

func TestConformanceTaxRateStore(t *testing.T) { porttest.TaxRateStore(t, newConformanceDB) }

func TestConformancePaymentStore(t *testing.T)  { porttest.PaymentStore(t, newConformanceDB) }
func TestConformancePassportStore(t *testing.T) { porttest.PassportStore(t, newConformanceDB) }
func TestConformanceImageStore(t *testing.T)    { porttest.ImageStore(t, newConformanceDB) }
