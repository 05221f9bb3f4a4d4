package porttest

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// StockAdjustment is a relative change of the stock of a product's default
// variant at the default location, for tests written against products
// created without variants (whose default variant has the product's ID).
type StockAdjustment struct {
	ProductID ecolaura.ID
	Delta     int
	At        time.Time
	Saturate  bool
}

// AdjustStock applies adj through stores' inventory store (an
// "adjustment" movement) and returns the product as it is then. Errors:
// those of ports.InventoryStore.Change (ErrNotFound for a product that
// does not exist).
func AdjustStock(ctx context.Context, stores ports.Stores, adj StockAdjustment) (ecolaura.Product, error) {
	if _, err := stores.Inventory().Change(ctx, ports.InventoryChange{VariantID: adj.ProductID, Quantity: adj.Delta,
		Saturate: adj.Saturate, Reason: ecolaura.MoveAdjustment, At: adj.At}); err != nil {
		return ecolaura.Product{}, err
	}
	return stores.Products().Get(ctx, adj.ProductID)
}
