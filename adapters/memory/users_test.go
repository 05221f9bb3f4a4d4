package memory_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func newUser(id ecolaura.ID, email string) ecolaura.User {
	return ecolaura.User{ID: id, Email: email, Name: "Ada", PasswordHash: "$argon2id$x", Role: ecolaura.RoleCustomer, CreatedAt: t0, UpdatedAt: t0, Version: 1}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	require.NoError(t, db.Users().Create(ctx, newUser("20000000-0000-7000-8000-000000000001", "ada@example.org")))
	require.ErrorIs(t, db.Users().Create(ctx, newUser("20000000-0000-7000-8000-000000000001", "other@example.org")), ecolaura.ErrConflict)
	require.ErrorIs(t, db.Users().Create(ctx, newUser("20000000-0000-7000-8000-000000000002", "ADA@example.org")), ecolaura.ErrConflict)
	require.ErrorIs(t, db.Users().Create(ctx, newUser("", "x@example.org")), ecolaura.ErrInvalid)
	require.NoError(t, db.Users().Create(ctx, newUser("20000000-0000-7000-8000-000000000002", "bob@example.org")))

	u, err := db.Users().GetByEmail(ctx, "ada@example.org")
	require.NoError(t, err)
	assert.Equal(t, int64(1), u.Version)
	_, err = db.Users().GetByEmail(ctx, "nobody@example.org")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	_, err = db.Users().Get(ctx, "20000000-0000-7000-8000-000000000009")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)

	// Taking another user's email conflicts; a stale version conflicts.
	u.Email = "bob@example.org"
	_, err = db.Users().Update(ctx, u)
	require.ErrorIs(t, err, ecolaura.ErrConflict)
	u.Email = "ada.lovelace@example.org"
	got, err := db.Users().Update(ctx, u)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)
	_, err = db.Users().Update(ctx, u)
	require.ErrorIs(t, err, ecolaura.ErrConflict)
	// The old email is free again, the new one is found.
	_, err = db.Users().GetByEmail(ctx, "ada@example.org")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	require.NoError(t, db.Users().Create(ctx, newUser("20000000-0000-7000-8000-000000000003", "ada@example.org")))
	byEmail, err := db.Users().GetByEmail(ctx, "ada.lovelace@example.org")
	require.NoError(t, err)
	assert.Equal(t, got, byEmail)
	_, err = db.Users().Update(ctx, newUser("20000000-0000-7000-8000-000000000009", "z@example.org"))
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

func TestRefreshTokens(t *testing.T) {
	ctx := context.Background()
	db := withTestUsers(t, newDB(t))
	tok := func(id, fam, user, hash string) ecolaura.RefreshToken {
		return ecolaura.RefreshToken{ID: ecolaura.ID(id), FamilyID: ecolaura.ID(fam), UserID: ecolaura.ID(user), Hash: hash, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	s := db.RefreshTokens()
	require.NoError(t, s.Create(ctx, tok("50000000-0000-7000-8000-000000000001", "40000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "h1")))
	require.NoError(t, s.Create(ctx, tok("50000000-0000-7000-8000-000000000002", "40000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "h2")))
	require.NoError(t, s.Create(ctx, tok("50000000-0000-7000-8000-000000000003", "40000000-0000-7000-8000-000000000002", "20000000-0000-7000-8000-000000000001", "h3")))
	require.NoError(t, s.Create(ctx, tok("50000000-0000-7000-8000-000000000004", "40000000-0000-7000-8000-000000000003", "20000000-0000-7000-8000-000000000002", "h4")))
	require.ErrorIs(t, s.Create(ctx, tok("50000000-0000-7000-8000-000000000001", "40000000-0000-7000-8000-000000000009", "20000000-0000-7000-8000-000000000001", "h9")), ecolaura.ErrConflict)
	require.ErrorIs(t, s.Create(ctx, tok("50000000-0000-7000-8000-000000000009", "40000000-0000-7000-8000-000000000009", "20000000-0000-7000-8000-000000000001", "h1")), ecolaura.ErrConflict)
	_, err := s.GetByHash(ctx, "nope")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	_, err = s.MarkUsed(ctx, "nope", t0)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)

	// MarkUsed is a compare-and-set.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.MarkUsed(ctx, "50000000-0000-7000-8000-000000000001", t0)
			assert.NoError(t, err)
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	got, err := s.GetByHash(ctx, "h1")
	require.NoError(t, err)
	require.NotNil(t, got.UsedAt)
	*got.UsedAt = t0.Add(time.Hour) // copies out
	again, err := s.GetByHash(ctx, "h1")
	require.NoError(t, err)
	assert.Equal(t, t0, *again.UsedAt)

	at := t0.Add(time.Minute)
	require.NoError(t, s.RevokeFamily(ctx, "40000000-0000-7000-8000-000000000001", at))
	for _, h := range []string{"h1", "h2"} {
		got, err := s.GetByHash(ctx, h)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt, h)
		assert.Equal(t, at, *got.RevokedAt)
	}
	got, err = s.GetByHash(ctx, "h3")
	require.NoError(t, err)
	assert.Nil(t, got.RevokedAt, "other family untouched")
	ok, err := s.MarkUsed(ctx, "50000000-0000-7000-8000-000000000002", at)
	require.NoError(t, err)
	assert.False(t, ok, "a revoked token cannot be used")

	later := at.Add(time.Minute)
	require.NoError(t, s.RevokeUser(ctx, "20000000-0000-7000-8000-000000000001", later))
	for h, want := range map[string]time.Time{"h1": at, "h2": at, "h3": later} {
		got, err := s.GetByHash(ctx, h)
		require.NoError(t, err)
		assert.Equal(t, want, *got.RevokedAt, "already revoked tokens keep their time: %s", h)
	}
	got, err = s.GetByHash(ctx, "h4")
	require.NoError(t, err)
	assert.Nil(t, got.RevokedAt, "other user untouched")
}
