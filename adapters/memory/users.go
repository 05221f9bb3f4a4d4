package memory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// userRec is an immutable stored user; key is the lower-cased email, the
// unique key (like PostgreSQL's unique index on lower(email)).
type userRec struct {
	u       ecolaura.User
	key     string
	created int64 // CreatedAt in Unix nanoseconds
}

func newUserRec(u ecolaura.User) *userRec {
	u = u.Clone()
	if u.PasswordChangedAt.IsZero() {
		u.PasswordChangedAt = u.CreatedAt
	}
	return &userRec{u: u, key: strings.ToLower(u.Email), created: u.CreatedAt.UnixNano()}
}

// usersNewestFirst orders by created_at desc, id desc.
func usersNewestFirst(a, b *userRec) bool {
	if a.created != b.created {
		return a.created > b.created
	}
	return a.u.ID > b.u.ID
}

type userTables struct {
	byID    *btree.BTreeG[*userRec]
	byEmail *btree.BTreeG[*userRec]
	newest  *btree.BTreeG[*userRec]
}

func newUserTables() *userTables {
	return &userTables{
		byID:    newTree(func(a, b *userRec) bool { return a.u.ID < b.u.ID }),
		byEmail: newTree(func(a, b *userRec) bool { return a.key < b.key }),
		newest:  newTree(usersNewestFirst),
	}
}

func (ut *userTables) clone() *userTables {
	return &userTables{byID: ut.byID.Clone(), byEmail: ut.byEmail.Clone(), newest: ut.newest.Clone()}
}

func (ut *userTables) put(r *userRec) {
	ut.byID.ReplaceOrInsert(r)
	ut.byEmail.ReplaceOrInsert(r)
	ut.newest.ReplaceOrInsert(r)
}

func (ut *userTables) remove(r *userRec) {
	ut.byID.Delete(r)
	ut.byEmail.Delete(r)
	ut.newest.Delete(r)
}

func (ut *userTables) get(id ecolaura.ID) (*userRec, bool) {
	return ut.byID.Get(&userRec{u: ecolaura.User{ID: id}})
}

func (ut *userTables) getByEmail(email string) (*userRec, bool) {
	return ut.byEmail.Get(&userRec{key: strings.ToLower(email)})
}

// userStore implements ports.UserStore.
type userStore struct {
	db *Database
	tx *txn
}

var _ ports.UserStore = userStore{}

// Create stores a copy of u as given (Version 0 is stored as 1). Errors:
// ErrConflict when the ID or the email (compared case-insensitively) is
// taken; *ValidationError (ErrInvalid) when u breaks a rule of
// ports.ValidateStoredUser.
func (s userStore) Create(ctx context.Context, u ecolaura.User) error {
	if err := ports.ValidateStoredUser(u); err != nil {
		return fmt.Errorf("memory: create user %s: %w", u.ID, err)
	}
	if u.Version == 0 {
		u.Version = 1
	}
	rec := newUserRec(u)
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if _, ok := t.w.users.get(u.ID); ok {
			return fmt.Errorf("memory: create user %s: id taken: %w", u.ID, ecolaura.ErrConflict)
		}
		if _, ok := t.w.users.getByEmail(u.Email); ok {
			return fmt.Errorf("memory: create user %s: email taken: %w", u.ID, ecolaura.ErrConflict)
		}
		t.users().put(rec)
		return nil
	})
}

// Get returns a copy of the user. Errors: ErrNotFound.
func (s userStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.User, error) {
	var out ecolaura.User
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.users.get(id)
		if !ok {
			return fmt.Errorf("memory: get user %s: %w", id, ecolaura.ErrNotFound)
		}
		out = r.u.Clone()
		return nil
	})
	return out, err
}

// GetForUpdate returns a copy of the latest committed user. Inside a
// transaction it takes the writer lock first (as a write does), so the user
// cannot change until the transaction ends. Errors: ErrNotFound.
func (s userStore) GetForUpdate(ctx context.Context, id ecolaura.ID) (ecolaura.User, error) {
	if s.tx == nil {
		return s.Get(ctx, id)
	}
	var out ecolaura.User
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		r, ok := t.w.users.get(id)
		if !ok {
			return fmt.Errorf("memory: get user %s for update: %w", id, ecolaura.ErrNotFound)
		}
		out = r.u.Clone()
		return nil
	})
	return out, err
}

// GetByEmail returns a copy of the user with that email (compared
// case-insensitively). Errors: ErrNotFound.
func (s userStore) GetByEmail(ctx context.Context, email string) (ecolaura.User, error) {
	var out ecolaura.User
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.users.getByEmail(email)
		if !ok || email == "" {
			return fmt.Errorf("memory: get user by email: %w", ecolaura.ErrNotFound)
		}
		out = r.u.Clone()
		return nil
	})
	return out, err
}

// Update replaces the user if the stored version equals u.Version, storing
// Version u.Version+1 (CreatedAt stays as stored), and returns what was
// stored. Errors: ErrNotFound; ErrConflict on a version mismatch or an email
// taken by another user; *ValidationError (ErrInvalid) as for Create.
func (s userStore) Update(ctx context.Context, u ecolaura.User) (ecolaura.User, error) {
	if _, err := ecolaura.ParseID(string(u.ID)); err != nil {
		return ecolaura.User{}, fmt.Errorf("memory: update user %s: %w", u.ID, ecolaura.ErrNotFound)
	}
	if err := ports.ValidateStoredUser(u); err != nil {
		return ecolaura.User{}, fmt.Errorf("memory: update user %s: %w", u.ID, err)
	}
	var out ecolaura.User
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.users.get(u.ID)
		if !ok {
			return fmt.Errorf("memory: update user %s: %w", u.ID, ecolaura.ErrNotFound)
		}
		if old.u.Version != u.Version {
			return fmt.Errorf("memory: update user %s: stored version %d, given %d: %w", u.ID, old.u.Version, u.Version, ecolaura.ErrConflict)
		}
		if other, ok := t.w.users.getByEmail(u.Email); ok && other.u.ID != u.ID {
			return fmt.Errorf("memory: update user %s: email taken: %w", u.ID, ecolaura.ErrConflict)
		}
		nu := u.Clone()
		nu.CreatedAt = old.u.CreatedAt
		nu.Version = u.Version + 1
		rec := newUserRec(nu)
		ut := t.users()
		ut.remove(old)
		ut.put(rec)
		out = rec.u.Clone()
		return nil
	})
	return out, err
}

// List returns a page of accounts, newest first, walking the newest-first
// index from the cursor and filtering as it goes. Errors: *ValidationError
// (ErrInvalid) for a bad limit.
func (s userStore) List(ctx context.Context, q ports.UserQuery) (ports.UserPage, error) {
	if q.Limit < minLimit || q.Limit > maxLimit {
		return ports.UserPage{}, fmt.Errorf("memory: list users: %w", ecolaura.Invalid("limit", "must be between %d and %d", minLimit, maxLimit))
	}
	search := strings.ToLower(q.Search)
	page := ports.UserPage{Items: []ecolaura.User{}}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		walk := func(r *userRec) bool {
			if q.After != nil && r.created == q.After.CreatedAt.UnixNano() && r.u.ID == q.After.ID {
				return true
			}
			switch {
			case search != "" && !strings.Contains(r.key, search) && !strings.Contains(strings.ToLower(r.u.Name), search):
				return true
			case q.Role != "" && r.u.Role != q.Role:
				return true
			case q.Disabled != nil && *q.Disabled == r.u.Active():
				return true
			}
			if len(page.Items) == q.Limit {
				page.HasMore = true
				return false
			}
			page.Items = append(page.Items, r.u.Clone())
			return true
		}
		if q.After != nil {
			sn.users.newest.AscendGreaterOrEqual(&userRec{u: ecolaura.User{ID: q.After.ID}, created: q.After.CreatedAt.UnixNano()}, walk)
		} else {
			sn.users.newest.Ascend(walk)
		}
		return nil
	})
	if err != nil {
		return ports.UserPage{}, err
	}
	return page, nil
}

// CountActiveStaff counts the staff accounts that are not disabled. Inside
// a transaction it takes the writer lock first, which serialises it with
// every other writer (the memory adapter's lock of "the active staff
// accounts").
func (s userStore) CountActiveStaff(ctx context.Context) (int, error) {
	n := 0
	count := func(sn *snapshot) error {
		sn.users.byID.Ascend(func(r *userRec) bool {
			if r.u.Role == ecolaura.RoleStaff && r.u.Active() {
				n++
			}
			return true
		})
		return nil
	}
	if s.tx == nil {
		return n, view(s.db, nil, count)
	}
	err := update(ctx, s.db, s.tx, func(t *txn) error { return count(t.w) })
	return n, err
}

// Delete removes the user, its refresh and account tokens, and clears the
// UserID of its orders (as PostgreSQL's ON DELETE SET NULL does: nothing
// else of an order changes). Errors: ErrNotFound.
func (s userStore) Delete(ctx context.Context, id ecolaura.ID) error {
	return update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.users.get(id)
		if !ok {
			return fmt.Errorf("memory: delete user %s: %w", id, ecolaura.ErrNotFound)
		}
		t.users().remove(old)
		var refresh []*tokenRec
		t.w.tokens.byUser.AscendGreaterOrEqual(&tokenRec{t: ecolaura.RefreshToken{UserID: id}}, func(r *tokenRec) bool {
			if r.t.UserID != id {
				return false
			}
			refresh = append(refresh, r)
			return true
		})
		if len(refresh) > 0 {
			tt := t.tokens()
			for _, r := range refresh {
				tt.remove(r)
			}
		}
		var acct []*accountTokenRec
		t.w.accountTokens.byUser.AscendGreaterOrEqual(&accountTokenRec{t: ecolaura.AccountToken{UserID: id}}, func(r *accountTokenRec) bool {
			if r.t.UserID != id {
				return false
			}
			acct = append(acct, r)
			return true
		})
		if len(acct) > 0 {
			at := t.accountTokens()
			for _, r := range acct {
				at.remove(r)
			}
		}
		if t.w.addresses.byUser.Len() > 0 {
			t.addresses().removeUser(id)
		}
		t.anonymizeOrders(id)
		return nil
	})
}

// tokenRec is an immutable stored refresh token.
type tokenRec struct{ t ecolaura.RefreshToken }

type tokenTables struct {
	byID     *btree.BTreeG[*tokenRec]
	byHash   *btree.BTreeG[*tokenRec]
	byFamily *btree.BTreeG[*tokenRec]
	byUser   *btree.BTreeG[*tokenRec]
}

func newTokenTables() *tokenTables {
	return &tokenTables{
		byID:   newTree(func(a, b *tokenRec) bool { return a.t.ID < b.t.ID }),
		byHash: newTree(func(a, b *tokenRec) bool { return a.t.Hash < b.t.Hash }),
		byFamily: newTree(func(a, b *tokenRec) bool {
			if a.t.FamilyID != b.t.FamilyID {
				return a.t.FamilyID < b.t.FamilyID
			}
			return a.t.ID < b.t.ID
		}),
		byUser: newTree(func(a, b *tokenRec) bool {
			if a.t.UserID != b.t.UserID {
				return a.t.UserID < b.t.UserID
			}
			return a.t.ID < b.t.ID
		}),
	}
}

func (tt *tokenTables) clone() *tokenTables {
	return &tokenTables{byID: tt.byID.Clone(), byHash: tt.byHash.Clone(), byFamily: tt.byFamily.Clone(), byUser: tt.byUser.Clone()}
}

func (tt *tokenTables) get(id ecolaura.ID) (*tokenRec, bool) {
	return tt.byID.Get(&tokenRec{t: ecolaura.RefreshToken{ID: id}})
}

func (tt *tokenTables) put(r *tokenRec) {
	tt.byID.ReplaceOrInsert(r)
	tt.byHash.ReplaceOrInsert(r)
	tt.byFamily.ReplaceOrInsert(r)
	tt.byUser.ReplaceOrInsert(r)
}

func (tt *tokenTables) remove(r *tokenRec) {
	tt.byID.Delete(r)
	tt.byHash.Delete(r)
	tt.byFamily.Delete(r)
	tt.byUser.Delete(r)
}

// tokenStore implements ports.RefreshTokenStore.
type tokenStore struct {
	db *Database
	tx *txn
}

var _ ports.RefreshTokenStore = tokenStore{}

// Create stores a copy of the token. Errors: ErrConflict when the ID or the
// hash exists; *ValidationError (ErrInvalid) for IDs that are not UUIDs, an
// empty hash or a user that does not exist.
func (s tokenStore) Create(ctx context.Context, tok ecolaura.RefreshToken) error {
	if err := ports.ValidateStoredRefreshToken(tok); err != nil {
		return fmt.Errorf("memory: create refresh token %s: %w", tok.ID, err)
	}
	rec := &tokenRec{t: tok.Clone()}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if _, ok := t.w.users.get(tok.UserID); !ok {
			// The foreign key of the PostgreSQL schema.
			return fmt.Errorf("memory: create refresh token %s: %w", tok.ID, ecolaura.Invalid("user_id", "user %s does not exist", tok.UserID))
		}
		if _, ok := t.w.tokens.get(tok.ID); ok {
			return fmt.Errorf("memory: create refresh token %s: id taken: %w", tok.ID, ecolaura.ErrConflict)
		}
		if t.w.tokens.byHash.Has(rec) {
			return fmt.Errorf("memory: create refresh token %s: hash taken: %w", tok.ID, ecolaura.ErrConflict)
		}
		t.tokens().put(rec)
		return nil
	})
}

// GetByHash returns a copy of the token with that hash. Errors: ErrNotFound.
func (s tokenStore) GetByHash(ctx context.Context, hash string) (ecolaura.RefreshToken, error) {
	var out ecolaura.RefreshToken
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.tokens.byHash.Get(&tokenRec{t: ecolaura.RefreshToken{Hash: hash}})
		if !ok || hash == "" {
			return fmt.Errorf("memory: get refresh token by hash: %w", ecolaura.ErrNotFound)
		}
		out = r.t.Clone()
		return nil
	})
	return out, err
}

// MarkUsed sets UsedAt if the token is neither used nor revoked and reports
// whether this call did (a compare-and-set). Errors: ErrNotFound.
func (s tokenStore) MarkUsed(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error) {
	set := false
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.tokens.get(id)
		if !ok {
			return fmt.Errorf("memory: mark refresh token %s used: %w", id, ecolaura.ErrNotFound)
		}
		if old.t.UsedAt != nil || old.t.RevokedAt != nil {
			return nil
		}
		nt := old.t.Clone()
		nt.UsedAt = &at
		t.tokens().put(&tokenRec{t: nt})
		set = true
		return nil
	})
	return set, err
}

// RevokeFamily sets RevokedAt on every not yet revoked token of the family.
func (s tokenStore) RevokeFamily(ctx context.Context, familyID ecolaura.ID, at time.Time) error {
	return s.revoke(ctx, func(tt *tokenTables, fn func(*tokenRec) bool) {
		tt.byFamily.AscendGreaterOrEqual(&tokenRec{t: ecolaura.RefreshToken{FamilyID: familyID}}, func(r *tokenRec) bool {
			return r.t.FamilyID == familyID && fn(r)
		})
	}, at)
}

// RevokeUser sets RevokedAt on every not yet revoked token of the user.
func (s tokenStore) RevokeUser(ctx context.Context, userID ecolaura.ID, at time.Time) error {
	return s.revoke(ctx, func(tt *tokenTables, fn func(*tokenRec) bool) {
		tt.byUser.AscendGreaterOrEqual(&tokenRec{t: ecolaura.RefreshToken{UserID: userID}}, func(r *tokenRec) bool {
			return r.t.UserID == userID && fn(r)
		})
	}, at)
}

// RevokeOtherFamilies sets RevokedAt on every not yet revoked token of the
// user outside keepFamilyID.
func (s tokenStore) RevokeOtherFamilies(ctx context.Context, userID, keepFamilyID ecolaura.ID, at time.Time) error {
	return s.revoke(ctx, func(tt *tokenTables, fn func(*tokenRec) bool) {
		tt.byUser.AscendGreaterOrEqual(&tokenRec{t: ecolaura.RefreshToken{UserID: userID}}, func(r *tokenRec) bool {
			if r.t.UserID != userID {
				return false
			}
			if keepFamilyID != "" && r.t.FamilyID == keepFamilyID {
				return true
			}
			return fn(r)
		})
	}, at)
}

func (s tokenStore) revoke(ctx context.Context, each func(tt *tokenTables, fn func(*tokenRec) bool), at time.Time) error {
	return update(ctx, s.db, s.tx, func(t *txn) error {
		var todo []*tokenRec
		each(t.w.tokens, func(r *tokenRec) bool {
			if r.t.RevokedAt == nil {
				todo = append(todo, r)
			}
			return true
		})
		if len(todo) == 0 {
			return nil
		}
		tt := t.tokens()
		for _, r := range todo {
			nt := r.t.Clone()
			ts := at
			nt.RevokedAt = &ts
			tt.put(&tokenRec{t: nt})
		}
		return nil
	})
}
