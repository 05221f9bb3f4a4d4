package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// TestEnsureAdminAfterDemotion: staff may demote the account of
// ECOLAURA_ADMIN_EMAIL; the next start neither promotes it again nor fails
// (it failed every replica's start). An address taken by a customer while
// the shop has no staff at all still stops the start.
func TestEnsureAdminAfterDemotion(t *testing.T) {
	ctx := context.Background()
	const adminPW = "admin-password-123"
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	t.Run("a customer's address and no staff: the start fails", func(t *testing.T) {
		s, err := shop.New(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close(ctx) })
		_, err = s.Users.Register(ctx, users.RegisterInput{Email: "admin@example.org", Name: "Squatter", Password: "squatter-password-1"})
		require.NoError(t, err)
		err = ensureAdmin(ctx, s.Users, "admin@example.org", adminPW, log)
		require.ErrorIs(t, err, ecolaura.ErrConflict)
		assert.Contains(t, err.Error(), "ECOLAURA_ADMIN_EMAIL")
	})

	t.Run("demoted by other staff: a warning, not promoted", func(t *testing.T) {
		s, err := shop.New(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close(ctx) })
		require.NoError(t, ensureAdmin(ctx, s.Users, "admin@example.org", adminPW, log), "created at the first start")
		admin, err := s.Users.FindByEmail(ctx, ecolaura.System(), "admin@example.org")
		require.NoError(t, err)
		other, err := s.Users.CreateAccount(ctx, ecolaura.System(), users.NewAccount{Email: "boss@example.org", Name: "Boss", Password: "boss-password-123", Role: ecolaura.RoleStaff})
		require.NoError(t, err)
		customer := ecolaura.RoleCustomer
		_, err = s.Users.Administer(ctx, other.Principal(), admin.ID, users.AdminPatch{Role: &customer})
		require.NoError(t, err)

		logs.Reset()
		require.NoError(t, ensureAdmin(ctx, s.Users, "admin@example.org", adminPW, log), "the next start")
		assert.Contains(t, logs.String(), "not promoted")
		again, err := s.Users.FindByEmail(ctx, ecolaura.System(), "admin@example.org")
		require.NoError(t, err)
		assert.Equal(t, ecolaura.RoleCustomer, again.Role, "the staff's decision stands")
	})
}
