package ports

import (
	"context"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// AddressStore stores the customers' address books (ecolaura.SavedAddress).
// Every call names the owner: an entry of another user is not found.
//
// Semantics (checked by porttest.AddressStore): values are copied in and
// out; every stored entry follows ecolaura.ValidateStoredAddress; a user
// has at most one default shipping and at most one default billing entry,
// by construction (SetDefault moves the mark atomically); deleting an
// entry clears the marks it had; deleting the user (UserStore.Delete)
// deletes the address book.
type AddressStore interface {
	// Create stores a new entry. Its DefaultShipping and DefaultBilling are
	// ignored (an entry is created unmarked: see SetDefault). Errors:
	// ErrConflict when the ID exists; ErrInvalid when a breaks
	// ValidateStoredAddress or its user does not exist.
	Create(ctx context.Context, a ecolaura.SavedAddress) error
	// Get returns the user's entry. Errors: ErrNotFound (also when it
	// belongs to another user).
	Get(ctx context.Context, userID, id ecolaura.ID) (ecolaura.SavedAddress, error)
	// List returns the user's entries, oldest first (by ID, which is time
	// ordered); an unknown user has none.
	List(ctx context.Context, userID ecolaura.ID) ([]ecolaura.SavedAddress, error)
	// Count returns how many entries the user has.
	Count(ctx context.Context, userID ecolaura.ID) (int, error)
	// Update replaces the address and UpdatedAt of the entry if the stored
	// version equals a.Version, storing Version a.Version+1, and returns
	// what was stored (marks included; the given marks are ignored).
	// Errors: ErrNotFound; ErrConflict on a version mismatch; ErrInvalid as
	// for Create.
	Update(ctx context.Context, a ecolaura.SavedAddress) (ecolaura.SavedAddress, error)
	// Delete removes the entry and the marks it had. Errors: ErrNotFound.
	Delete(ctx context.Context, userID, id ecolaura.ID) error
	// SetDefault makes the entry the user's default for use, taking the
	// mark from the entry that had it, in one atomic step. Errors:
	// ErrNotFound; ErrInvalid for an unknown use.
	SetDefault(ctx context.Context, userID, id ecolaura.ID, use ecolaura.AddressUse) error
}
