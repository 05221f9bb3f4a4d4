package ports

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// InventoryChange is one change of a variant's stock at one location.
type InventoryChange struct {
	VariantID ecolaura.ID
	// LocationID is the location; "" means the default location.
	LocationID ecolaura.ID
	// Set makes Quantity the new on-hand level (absolute); otherwise
	// Quantity is added to it (relative; negative to take units).
	Set      bool
	Quantity int
	// Saturate makes a relative increase that would pass ecolaura.MaxStock
	// store MaxStock instead of failing (putting back a cancelled order's
	// units can never be refused).
	Saturate bool
	// Reason, ActorID, OrderID and Note are recorded in the movement.
	Reason  ecolaura.MovementReason
	ActorID ecolaura.ID
	OrderID ecolaura.ID
	Note    string
	At      time.Time
}

// InventoryResult is what a change did.
type InventoryResult struct {
	ProductID ecolaura.ID
	// Before and After are the level's on-hand units around the change.
	Before, After int
	Movement      ecolaura.InventoryMovement
}

// Sale takes Quantity units of a variant for an order, from the locations
// that ship, in location order (see InventoryStore.Sell).
type Sale struct {
	VariantID ecolaura.ID
	Quantity  int
	OrderID   ecolaura.ID
	ActorID   ecolaura.ID
	At        time.Time
}

// MovementQuery selects movements, newest first.
type MovementQuery struct {
	// VariantID, when set, keeps that variant's movements.
	VariantID ecolaura.ID
	// OrderID, when set, keeps that order's movements.
	OrderID ecolaura.ID
	// Before, when set, keeps only the movements that come after it in the
	// newest-first order (older, or as old with a smaller ID): the last
	// movement of the previous page.
	Before *MovementPosition
	// Limit is 1–1000.
	Limit int
}

// MovementPosition is a movement's place in the newest-first order.
type MovementPosition struct {
	At time.Time
	ID ecolaura.ID
}

// After reports whether m comes after the position in the newest-first
// order: it is older, or as old with a smaller ID.
func (p MovementPosition) After(m ecolaura.InventoryMovement) bool {
	if !m.At.Equal(p.At) {
		return m.At.Before(p.At)
	}
	return m.ID < p.ID
}

// InventoryStore keeps stock per variant and location, apart from the
// catalog, with a movement for every change.
//
// Semantics (checked by porttest.InventoryStore on every adapter):
//   - The default location (ecolaura.DefaultLocationID, position 0, ships)
//     always exists. Every variant has a level at the default location from
//     its creation on; a level at another location appears with its first
//     change.
//   - A level is never below 0 nor above ecolaura.MaxStock, however many
//     callers race: each change is one guarded write evaluated against the
//     latest committed level, which it keeps locked until its transaction
//     ends (see UnitOfWork).
//   - Every change records exactly one movement per level it changes (in the
//     same transaction); a level equals the sum of its movements' deltas.
//   - No change touches the product row (no version bump, no UpdatedAt).
//   - Movement IDs are time-ordered UUIDs (v7) made by the store.
type InventoryStore interface {
	// Locations returns every stock location in position order.
	Locations(ctx context.Context) ([]ecolaura.StockLocation, error)
	// CreateLocation adds a location. Errors: ErrInvalid
	// (*ValidationError) for a bad location or a taken position; ErrConflict
	// when the ID exists.
	CreateLocation(ctx context.Context, l ecolaura.StockLocation) error
	// Levels returns the levels of the given variants (those that exist),
	// ordered by variant ID then location position.
	Levels(ctx context.Context, variantIDs []ecolaura.ID) ([]ecolaura.InventoryLevel, error)
	// Change applies one change and records its movement. Errors:
	// ErrNotFound for an unknown variant or location;
	// *ecolaura.InsufficientStockError (ErrInsufficientStock) when a
	// relative change would take the level below 0 (Available is the
	// level); ErrInvalid for a result above ecolaura.MaxStock (without
	// Saturate), a negative absolute level or a bad reason.
	Change(ctx context.Context, c InventoryChange) (InventoryResult, error)
	// Sell takes every sale or none: for each, Quantity units of its
	// variant from the locations that ship, in position order (as many as
	// each holds, the default location first), recording one "sale"
	// movement per level it takes from, and returns the results in
	// variant-ID order. Levels are locked in variant-ID order (the default
	// location's of every sale first), so concurrent sales cannot deadlock.
	// When a variant's locations hold fewer units than its sale asks it
	// returns an *ecolaura.InsufficientStockError naming that variant, with
	// its available units; a caller's transaction must then be rolled back
	// (outside one, nothing changed). Errors: ErrInvalid (no sale, a
	// quantity outside 1–MaxStock, a variant twice); ErrNotFound for an
	// unknown variant; ErrInsufficientStock.
	Sell(ctx context.Context, sales ...Sale) ([]InventoryResult, error)
	// Movements returns movements, newest first (by time, then ID).
	Movements(ctx context.Context, q MovementQuery) ([]ecolaura.InventoryMovement, error)
}

// ValidateInventoryChange checks what a store can check of c before it
// looks at the level: a known reason, a note of at most
// ecolaura.MaxMovementNote characters (multi-line text rules), an absolute
// level of 0–MaxStock or a delta of ±MaxStock. It returns a
// *ecolaura.ValidationError.
func ValidateInventoryChange(c InventoryChange) error {
	var v ecolaura.Validator
	v.Check(c.Reason.Valid(), "reason", "unknown reason %q", string(c.Reason))
	v.Check(len([]rune(c.Note)) <= ecolaura.MaxMovementNote, "note", "must be at most %d characters", ecolaura.MaxMovementNote)
	v.Text("note", c.Note, ecolaura.MultiLine)
	if c.Set {
		v.Check(c.Quantity >= 0 && c.Quantity <= ecolaura.MaxStock, "stock", "must be between 0 and %d", ecolaura.MaxStock)
	} else {
		v.Check(c.Quantity >= -ecolaura.MaxStock && c.Quantity <= ecolaura.MaxStock, "delta", "must be between %d and %d", -ecolaura.MaxStock, ecolaura.MaxStock)
	}
	return v.Err()
}

// Result returns the level after c given the level before, or the error
// that refuses it: an *ecolaura.InsufficientStockError (without product)
// below zero, a *ValidationError on "stock" above ecolaura.MaxStock (unless
// Saturate).
func (c InventoryChange) Result(before int) (int, error) {
	if c.Set {
		return c.Quantity, nil
	}
	after := before + c.Quantity
	switch {
	case after < 0:
		return 0, &ecolaura.InsufficientStockError{VariantID: c.VariantID, Requested: -c.Quantity, Available: before}
	case after > ecolaura.MaxStock && c.Saturate && c.Quantity > 0:
		return ecolaura.MaxStock, nil
	case after > ecolaura.MaxStock:
		return 0, ecolaura.Invalid("stock", "must be at most %d", ecolaura.MaxStock)
	}
	return after, nil
}

// ValidateSales checks sales before a store looks at stock: at least one, a
// quantity of 1–MaxStock each, no variant twice. It returns them sorted by
// variant ID (a copy), the order stores lock levels in. Errors:
// *ecolaura.ValidationError.
func ValidateSales(sales []Sale) ([]Sale, error) {
	if len(sales) == 0 {
		return nil, ecolaura.Invalid("sales", "must name at least one variant")
	}
	out := slices.Clone(sales)
	slices.SortFunc(out, func(a, b Sale) int { return strings.Compare(string(a.VariantID), string(b.VariantID)) })
	for i, s := range out {
		if s.Quantity < 1 || s.Quantity > ecolaura.MaxStock {
			return nil, ecolaura.Invalid("quantity", "must be between 1 and %d", ecolaura.MaxStock)
		}
		if i > 0 && out[i-1].VariantID == s.VariantID {
			return nil, ecolaura.Invalid("variant_id", "variant %s is sold twice: one sale per variant", s.VariantID)
		}
	}
	return out, nil
}
