package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// accountTokenRec is an immutable stored account token.
type accountTokenRec struct{ t ecolaura.AccountToken }

// byUserPurposeNewest orders by user, purpose, then created_at, id (the
// index PostgreSQL keeps): a user's newest token of a purpose is the last.
func byUserPurposeNewest(a, b *accountTokenRec) bool {
	switch {
	case a.t.UserID != b.t.UserID:
		return a.t.UserID < b.t.UserID
	case a.t.Purpose != b.t.Purpose:
		return a.t.Purpose < b.t.Purpose
	case !a.t.CreatedAt.Equal(b.t.CreatedAt):
		return a.t.CreatedAt.Before(b.t.CreatedAt)
	}
	return a.t.ID < b.t.ID
}

type accountTokenTables struct {
	byID   *btree.BTreeG[*accountTokenRec]
	byHash *btree.BTreeG[*accountTokenRec]
	byUser *btree.BTreeG[*accountTokenRec]
}

func newAccountTokenTables() *accountTokenTables {
	return &accountTokenTables{
		byID:   newTree(func(a, b *accountTokenRec) bool { return a.t.ID < b.t.ID }),
		byHash: newTree(func(a, b *accountTokenRec) bool { return a.t.Hash < b.t.Hash }),
		byUser: newTree(byUserPurposeNewest),
	}
}

func (at *accountTokenTables) clone() *accountTokenTables {
	return &accountTokenTables{byID: at.byID.Clone(), byHash: at.byHash.Clone(), byUser: at.byUser.Clone()}
}

func (at *accountTokenTables) get(id ecolaura.ID) (*accountTokenRec, bool) {
	return at.byID.Get(&accountTokenRec{t: ecolaura.AccountToken{ID: id}})
}

func (at *accountTokenTables) put(r *accountTokenRec) {
	at.byID.ReplaceOrInsert(r)
	at.byHash.ReplaceOrInsert(r)
	at.byUser.ReplaceOrInsert(r)
}

func (at *accountTokenTables) remove(r *accountTokenRec) {
	at.byID.Delete(r)
	at.byHash.Delete(r)
	at.byUser.Delete(r)
}

// eachOfUser calls fn with the user's tokens of the purpose, oldest first,
// until fn returns false.
func (at *accountTokenTables) eachOfUser(userID ecolaura.ID, purpose ecolaura.TokenPurpose, fn func(*accountTokenRec) bool) {
	at.byUser.AscendGreaterOrEqual(&accountTokenRec{t: ecolaura.AccountToken{UserID: userID, Purpose: purpose}}, func(r *accountTokenRec) bool {
		if r.t.UserID != userID || r.t.Purpose != purpose {
			return false
		}
		return fn(r)
	})
}

// accountTokenStore implements ports.AccountTokenStore.
type accountTokenStore struct {
	db *Database
	tx *txn
}

var _ ports.AccountTokenStore = accountTokenStore{}

// Create stores a copy of the token. Errors: ErrConflict when the ID or the
// hash exists; *ValidationError (ErrInvalid) for an empty ID, user or hash,
// an unknown purpose or a user that does not exist (the foreign key of the
// PostgreSQL schema).
func (s accountTokenStore) Create(ctx context.Context, tok ecolaura.AccountToken) error {
	var v ecolaura.Validator
	v.Check(tok.ID != "", "id", "must not be empty")
	v.Check(tok.UserID != "", "user_id", "must not be empty")
	v.Check(tok.Hash != "", "hash", "must not be empty")
	v.Check(tok.Purpose.Valid(), "purpose", "unknown purpose %q", string(tok.Purpose))
	if err := v.Err(); err != nil {
		return fmt.Errorf("memory: create account token %s: %w", tok.ID, err)
	}
	rec := &accountTokenRec{t: tok.Clone()}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if _, ok := t.w.accountTokens.get(tok.ID); ok {
			return fmt.Errorf("memory: create account token %s: id taken: %w", tok.ID, ecolaura.ErrConflict)
		}
		if t.w.accountTokens.byHash.Has(rec) {
			return fmt.Errorf("memory: create account token %s: hash taken: %w", tok.ID, ecolaura.ErrConflict)
		}
		if _, ok := t.w.users.get(tok.UserID); !ok {
			return fmt.Errorf("memory: create account token %s: %w", tok.ID, ecolaura.Invalid("user_id", "user %s does not exist", tok.UserID))
		}
		t.accountTokens().put(rec)
		return nil
	})
}

// Get returns a copy of the token. Errors: ErrNotFound.
func (s accountTokenStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.AccountToken, error) {
	var out ecolaura.AccountToken
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.accountTokens.get(id)
		if !ok {
			return fmt.Errorf("memory: get account token %s: %w", id, ecolaura.ErrNotFound)
		}
		out = r.t.Clone()
		return nil
	})
	return out, err
}

// GetByHash returns a copy of the token with that hash. Errors: ErrNotFound.
func (s accountTokenStore) GetByHash(ctx context.Context, hash string) (ecolaura.AccountToken, error) {
	var out ecolaura.AccountToken
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.accountTokens.byHash.Get(&accountTokenRec{t: ecolaura.AccountToken{Hash: hash}})
		if !ok || hash == "" {
			return fmt.Errorf("memory: get account token by hash: %w", ecolaura.ErrNotFound)
		}
		out = r.t.Clone()
		return nil
	})
	return out, err
}

// Latest returns a copy of the user's newest token of the purpose.
// Errors: ErrNotFound.
func (s accountTokenStore) Latest(ctx context.Context, userID ecolaura.ID, purpose ecolaura.TokenPurpose) (ecolaura.AccountToken, error) {
	var out ecolaura.AccountToken
	err := view(s.db, s.tx, func(sn *snapshot) error {
		var last *accountTokenRec
		sn.accountTokens.eachOfUser(userID, purpose, func(r *accountTokenRec) bool {
			last = r
			return true
		})
		if last == nil {
			return fmt.Errorf("memory: latest %s token of user %s: %w", purpose, userID, ecolaura.ErrNotFound)
		}
		out = last.t.Clone()
		return nil
	})
	return out, err
}

// Use sets UsedAt if the token is neither used nor revoked (a
// compare-and-set) and reports whether this call did. Errors: ErrNotFound.
func (s accountTokenStore) Use(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error) {
	set := false
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.accountTokens.get(id)
		if !ok {
			return fmt.Errorf("memory: use account token %s: %w", id, ecolaura.ErrNotFound)
		}
		if old.t.UsedAt != nil || old.t.RevokedAt != nil {
			return nil
		}
		nt := old.t.Clone()
		nt.UsedAt = &at
		t.accountTokens().put(&accountTokenRec{t: nt})
		set = true
		return nil
	})
	return set, err
}

// Revoke sets RevokedAt on every unused, unrevoked token of the user and
// purpose other than keepID, and returns how many.
func (s accountTokenStore) Revoke(ctx context.Context, userID ecolaura.ID, purpose ecolaura.TokenPurpose, keepID ecolaura.ID, at time.Time) (int, error) {
	n := 0
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		var todo []*accountTokenRec
		t.w.accountTokens.eachOfUser(userID, purpose, func(r *accountTokenRec) bool {
			if r.t.ID != keepID && r.t.UsedAt == nil && r.t.RevokedAt == nil {
				todo = append(todo, r)
			}
			return true
		})
		if len(todo) == 0 {
			return nil
		}
		tables := t.accountTokens()
		for _, r := range todo {
			nt := r.t.Clone()
			ts := at
			nt.RevokedAt = &ts
			tables.put(&accountTokenRec{t: nt})
		}
		n = len(todo)
		return nil
	})
	return n, err
}
