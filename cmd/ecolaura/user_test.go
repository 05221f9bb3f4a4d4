package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// TestUserCommands: the operator creates a staff account and a customer
// (passwords from standard input, never flags), lists them, sets a
// password; mistakes are usage errors (exit 2) that name the problem.
func TestUserCommands(t *testing.T) {
	dbURL := testenv.Postgres(t)
	env := envOf(map[string]string{"ECOLAURA_DATABASE_URL": dbURL})
	cli := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runWithInput(context.Background(), append([]string{"user"}, args...), env, strings.NewReader(stdin), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"migrate", "up"}, env, &out, &errOut), errOut.String())

	code, stdout, stderr := cli("staff-password-123\n", "create", "--email", "Boss@Example.org", "--staff")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "created staff account boss@example.org")
	code, stdout, stderr = cli("customer-password-1\n", "create", "--email", "carol@example.org", "--name", "Carol")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "created customer account carol@example.org")

	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"taken email", "another-password-1\n", []string{"create", "--email", "carol@example.org"}, 2, "an account with this email exists"},
		{"weak password", "short\n", []string{"create", "--email", "dave@example.org"}, 2, "password must be at least"},
		{"no password", "", []string{"create", "--email", "dave@example.org"}, 1, "no password on standard input"},
		{"no email", "", []string{"create"}, 2, "--email is required"},
		{"unknown account", "a-new-password-1\n", []string{"set-password", "--email", "nobody@example.org"}, 2, "no account has this email"},
		{"unknown subcommand", "", []string{"promote"}, 2, "unknown command"},
		{"a password flag does not exist", "", []string{"create", "--email", "x@example.org", "--password", "secret-secret"}, 2, "flag provided but not defined"},
		{"limit 0 is not a size", "", []string{"list", "--limit", "0"}, 2, "--limit must be between 1 and 100"},
		{"limit above the maximum", "", []string{"list", "--limit", "101"}, 2, "--limit must be between 1 and 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cli(tc.stdin, tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.stderr)
		})
	}

	code, stdout, stderr = cli("", "list", "--role", "staff")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "boss@example.org")
	assert.NotContains(t, stdout, "carol@example.org")
	code, stdout, stderr = cli("", "list", "--q", "CAROL")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "carol@example.org")
	assert.Contains(t, stdout, "customer")

	code, stdout, stderr = cli("carols-new-password\n", "set-password", "--email", "carol@example.org")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "password of carol@example.org set")

	// The new password signs in.
	require.NoError(t, withUsers(context.Background(), dbURL, func(svc *users.Service) error {
		_, err := svc.Login(context.Background(), users.Credentials{Email: "carol@example.org", Password: "carols-new-password"})
		return err
	}))
}
