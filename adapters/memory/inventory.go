package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/btree"
	"github.com/google/uuid"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// levelKey identifies an inventory level.
type levelKey struct{ variant, location ecolaura.ID }

// levelRec is an immutable stored level.
type levelRec struct {
	key     levelKey
	product ecolaura.ID
	onHand  int
}

func byLevelKey(a, b *levelRec) bool {
	if a.key.variant != b.key.variant {
		return a.key.variant < b.key.variant
	}
	return a.key.location < b.key.location
}

// variantRef indexes a variant (and a SKU) to its product.
type variantRef struct {
	key     string // variant ID, or lower-case SKU
	product ecolaura.ID
	variant ecolaura.ID
}

func byRefKey(a, b variantRef) bool { return a.key < b.key }

// movementRec is an immutable stored movement.
type movementRec struct {
	m ecolaura.InventoryMovement
}

// byVariantNewest orders movements by variant, then newest first.
func byVariantNewest(a, b *movementRec) bool {
	if a.m.VariantID != b.m.VariantID {
		return a.m.VariantID < b.m.VariantID
	}
	return newerMovement(a.m, b.m)
}

func newerMovement(a, b ecolaura.InventoryMovement) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}

// inventoryTables is the inventory part of a snapshot.
type inventoryTables struct {
	locations []ecolaura.StockLocation // by position; never modified in place
	levels    *btree.BTreeG[*levelRec]
	variants  *btree.BTreeG[variantRef] // variant ID -> product
	skus      *btree.BTreeG[variantRef] // lower(SKU) -> variant
	movements *btree.BTreeG[*movementRec]
}

func newInventoryTables() *inventoryTables {
	return &inventoryTables{
		locations: []ecolaura.StockLocation{{ID: ecolaura.DefaultLocationID, Name: "Default", Ships: true, Position: 0}},
		levels:    newTree(byLevelKey),
		variants:  newTree(byRefKey),
		skus:      newTree(byRefKey),
		movements: newTree(byVariantNewest),
	}
}

func (it *inventoryTables) clone() *inventoryTables {
	return &inventoryTables{
		locations: slices.Clone(it.locations),
		levels:    it.levels.Clone(),
		variants:  it.variants.Clone(),
		skus:      it.skus.Clone(),
		movements: it.movements.Clone(),
	}
}

func (t *txn) inventory() *inventoryTables { return own(t, &t.ownInv, &t.w.inventory) }

func (it *inventoryTables) location(id ecolaura.ID) (ecolaura.StockLocation, bool) {
	for _, l := range it.locations {
		if l.ID == id {
			return l, true
		}
	}
	return ecolaura.StockLocation{}, false
}

func (it *inventoryTables) level(variant, location ecolaura.ID) (*levelRec, bool) {
	return it.levels.Get(&levelRec{key: levelKey{variant, location}})
}

// available returns a variant's units at the locations that ship.
func (it *inventoryTables) available(variant ecolaura.ID) int {
	n := 0
	for _, l := range it.locations {
		if !l.Ships {
			continue
		}
		if r, ok := it.level(variant, l.ID); ok {
			n += r.onHand
		}
	}
	return n
}

// stock returns the sum of the available units of p's variants.
func (it *inventoryTables) stock(p ecolaura.Product) int {
	n := 0
	for _, v := range p.Variants {
		n += it.available(v.ID)
	}
	return n
}

// fill sets the variants' Available and the product's Stock from the levels.
func (it *inventoryTables) fill(p *ecolaura.Product) {
	p.Stock = 0
	for i := range p.Variants {
		p.Variants[i].Available = it.available(p.Variants[i].ID)
		p.Stock += p.Variants[i].Available
	}
}

func (it *inventoryTables) productOf(variant ecolaura.ID) (ecolaura.ID, bool) {
	r, ok := it.variants.Get(variantRef{key: string(variant)})
	return r.product, ok
}

// record stores a movement.
func (it *inventoryTables) record(m ecolaura.InventoryMovement) {
	it.movements.ReplaceOrInsert(&movementRec{m: m})
}

// setLevel stores a level.
func (it *inventoryTables) setLevel(product, variant, location ecolaura.ID, onHand int) {
	it.levels.ReplaceOrInsert(&levelRec{key: levelKey{variant, location}, product: product, onHand: onHand})
}

// addVariant indexes a new variant with its initial stock at the default
// location (and its "initial" movement when the stock is not zero).
func (it *inventoryTables) addVariant(v ecolaura.Variant, at ecolaura.Product) {
	it.variants.ReplaceOrInsert(variantRef{key: string(v.ID), product: at.ID, variant: v.ID})
	if v.SKU != "" {
		it.skus.ReplaceOrInsert(variantRef{key: strings.ToLower(v.SKU), product: at.ID, variant: v.ID})
	}
	it.setLevel(at.ID, v.ID, ecolaura.DefaultLocationID, v.Available)
	if v.Available != 0 {
		it.record(ecolaura.InventoryMovement{ID: newMovementID(), VariantID: v.ID, LocationID: ecolaura.DefaultLocationID,
			Delta: v.Available, OnHand: v.Available, Reason: ecolaura.MoveInitial, At: at.UpdatedAt})
	}
}

// removeVariant drops a variant's index entries, levels and movements.
func (it *inventoryTables) removeVariant(v ecolaura.Variant) {
	it.variants.Delete(variantRef{key: string(v.ID)})
	if v.SKU != "" {
		it.skus.Delete(variantRef{key: strings.ToLower(v.SKU)})
	}
	for _, l := range it.locations {
		it.levels.Delete(&levelRec{key: levelKey{v.ID, l.ID}})
	}
	var drop []*movementRec
	it.movements.AscendGreaterOrEqual(&movementRec{m: ecolaura.InventoryMovement{VariantID: v.ID, At: maxTime}}, func(r *movementRec) bool {
		if r.m.VariantID != v.ID {
			return false
		}
		drop = append(drop, r)
		return true
	})
	for _, r := range drop {
		it.movements.Delete(r)
	}
}

// maxTime sorts before every movement time (newest first).
var maxTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

func newMovementID() ecolaura.ID { return ecolaura.ID(uuid.Must(uuid.NewV7()).String()) }

// inventoryStore implements ports.InventoryStore.
type inventoryStore struct {
	db *Database
	tx *txn
}

var _ ports.InventoryStore = inventoryStore{}

// Locations returns every location in position order.
func (s inventoryStore) Locations(ctx context.Context) ([]ecolaura.StockLocation, error) {
	var out []ecolaura.StockLocation
	err := view(s.db, s.tx, func(sn *snapshot) error {
		out = slices.Clone(sn.inventory.locations)
		return nil
	})
	return out, err
}

// CreateLocation adds a location. Errors: ErrInvalid; ErrConflict.
func (s inventoryStore) CreateLocation(ctx context.Context, l ecolaura.StockLocation) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("memory: create location: %w", err)
	}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		it := t.w.inventory
		if _, ok := it.location(l.ID); ok {
			return fmt.Errorf("memory: create location %s: id taken: %w", l.ID, ecolaura.ErrConflict)
		}
		for _, o := range it.locations {
			if o.Position == l.Position {
				return fmt.Errorf("memory: create location: %w", ecolaura.Invalid("position", "is taken by location %s", o.ID))
			}
		}
		it = t.inventory()
		it.locations = append(slices.Clone(it.locations), l)
		slices.SortFunc(it.locations, func(a, b ecolaura.StockLocation) int { return a.Position - b.Position })
		return nil
	})
}

// Levels returns the levels of the variants, by variant ID then location
// position.
func (s inventoryStore) Levels(ctx context.Context, variantIDs []ecolaura.ID) ([]ecolaura.InventoryLevel, error) {
	ids := slices.Clone(variantIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := []ecolaura.InventoryLevel{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		it := sn.inventory
		for _, id := range ids {
			for _, l := range it.locations {
				if r, ok := it.level(id, l.ID); ok {
					out = append(out, ecolaura.InventoryLevel{VariantID: id, LocationID: l.ID, OnHand: r.onHand})
				}
			}
		}
		return nil
	})
	return out, err
}

// Change applies one change with its movement (see ports.InventoryStore).
func (s inventoryStore) Change(ctx context.Context, c ports.InventoryChange) (ports.InventoryResult, error) {
	if c.LocationID == "" {
		c.LocationID = ecolaura.DefaultLocationID
	}
	if err := ports.ValidateInventoryChange(c); err != nil {
		return ports.InventoryResult{}, fmt.Errorf("memory: inventory change: %w", err)
	}
	var out ports.InventoryResult
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		it := t.w.inventory
		product, ok := it.productOf(c.VariantID)
		if !ok {
			return fmt.Errorf("memory: variant %s: %w", c.VariantID, ecolaura.ErrNotFound)
		}
		if _, ok := it.location(c.LocationID); !ok {
			return fmt.Errorf("memory: location %s: %w", c.LocationID, ecolaura.ErrNotFound)
		}
		before := 0
		if r, ok := it.level(c.VariantID, c.LocationID); ok {
			before = r.onHand
		}
		after, err := c.Result(before)
		if err != nil {
			if ise, ok := err.(*ecolaura.InsufficientStockError); ok {
				ise.ProductID = product
				if pr, ok := t.w.products.get(product); ok {
					ise.Name = pr.p.Name
				}
			}
			return err
		}
		m := ecolaura.InventoryMovement{ID: newMovementID(), VariantID: c.VariantID, LocationID: c.LocationID,
			Delta: after - before, OnHand: after, Reason: c.Reason, ActorID: c.ActorID, OrderID: c.OrderID, Note: c.Note, At: c.At}
		it = t.inventory()
		it.setLevel(product, c.VariantID, c.LocationID, after)
		it.record(m)
		out = ports.InventoryResult{ProductID: product, Before: before, After: after, Movement: m}
		return nil
	})
	return out, err
}

// Sell takes every sale or none, in variant-ID order (see
// ports.InventoryStore.Sell).
func (s inventoryStore) Sell(ctx context.Context, sales ...ports.Sale) ([]ports.InventoryResult, error) {
	sorted, err := ports.ValidateSales(sales)
	if err != nil {
		return nil, err
	}
	var out []ports.InventoryResult
	err = update(ctx, s.db, s.tx, func(t *txn) error {
		out = nil
		// Every sale is checked before any is taken: a failed call
		// changes nothing, even inside a transaction.
		for _, sale := range sorted {
			if err := sellable(t, sale); err != nil {
				return err
			}
		}
		for _, sale := range sorted {
			out = append(out, sell(t, sale)...)
		}
		return nil
	})
	return out, err
}

// sellable reports whether the locations that ship hold sale's units.
// Errors: ErrNotFound; *ecolaura.InsufficientStockError.
func sellable(t *txn, sale ports.Sale) error {
	it := t.w.inventory
	product, ok := it.productOf(sale.VariantID)
	if !ok {
		return fmt.Errorf("memory: variant %s: %w", sale.VariantID, ecolaura.ErrNotFound)
	}
	if avail := it.available(sale.VariantID); avail < sale.Quantity {
		ise := &ecolaura.InsufficientStockError{ProductID: product, VariantID: sale.VariantID, Requested: sale.Quantity, Available: avail}
		if pr, ok := t.w.products.get(product); ok {
			ise.Name = pr.p.Name
		}
		return fmt.Errorf("memory: sell: %w", ise)
	}
	return nil
}

// sell takes a sellable sale's units from the locations that ship, in
// position order.
func sell(t *txn, sale ports.Sale) []ports.InventoryResult {
	it := t.inventory()
	product, _ := it.productOf(sale.VariantID)
	var out []ports.InventoryResult
	need := sale.Quantity
	for _, l := range it.locations {
		if need == 0 {
			break
		}
		if !l.Ships {
			continue
		}
		r, ok := it.level(sale.VariantID, l.ID)
		if !ok || r.onHand == 0 {
			continue
		}
		take := min(need, r.onHand)
		need -= take
		after := r.onHand - take
		m := ecolaura.InventoryMovement{ID: newMovementID(), VariantID: sale.VariantID, LocationID: l.ID, Delta: -take,
			OnHand: after, Reason: ecolaura.MoveSale, ActorID: sale.ActorID, OrderID: sale.OrderID, At: sale.At}
		it.setLevel(product, sale.VariantID, l.ID, after)
		it.record(m)
		out = append(out, ports.InventoryResult{ProductID: product, Before: r.onHand, After: after, Movement: m})
	}
	return out
}

// Movements returns movements newest first.
func (s inventoryStore) Movements(ctx context.Context, q ports.MovementQuery) ([]ecolaura.InventoryMovement, error) {
	if q.Limit < minLimit || q.Limit > maxLimit {
		return nil, ecolaura.Invalid("limit", "must be between %d and %d", minLimit, maxLimit)
	}
	out := []ecolaura.InventoryMovement{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		keep := func(r *movementRec) bool {
			if q.OrderID != "" && r.m.OrderID != q.OrderID {
				return true
			}
			if q.Before != nil && !q.Before.After(r.m) {
				return true
			}
			out = append(out, r.m)
			return true
		}
		if q.VariantID != "" {
			sn.inventory.movements.AscendGreaterOrEqual(&movementRec{m: ecolaura.InventoryMovement{VariantID: q.VariantID, At: maxTime}},
				func(r *movementRec) bool {
					if r.m.VariantID != q.VariantID || len(out) == q.Limit {
						return false
					}
					return keep(r)
				})
			return nil
		}
		sn.inventory.movements.Ascend(keep)
		slices.SortFunc(out, func(a, b ecolaura.InventoryMovement) int {
			if newerMovement(a, b) {
				return -1
			}
			if newerMovement(b, a) {
				return 1
			}
			return 0
		})
		if len(out) > q.Limit {
			out = out[:q.Limit]
		}
		return nil
	})
	return out, err
}
