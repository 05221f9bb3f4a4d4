package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/jwt"
)

func TestFormatVersion(t *testing.T) {
	const platform = "go1.26.8 linux/amd64"
	withSettings := func(v string, kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/ecolaura/ecolaura", Version: v}}
		for i := 0; i+1 < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"go install of a release", "", withSettings("v1.2.3"), "ecolaura v1.2.3 (go1.26.8 linux/amd64)"},
		{"stamped wins", "v2.0.0-rc.1", withSettings("v1.2.3"), "ecolaura v2.0.0-rc.1 (go1.26.8 linux/amd64)"},
		{"checkout with VCS stamping", "", withSettings("v0.0.0-20261129120000-0123456789ab",
			"vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.modified", "false"),
			"ecolaura v0.0.0-20261129120000-0123456789ab (revision 0123456789ab, go1.26.8 linux/amd64)"},
		{"modified checkout", "", withSettings("(devel)", "vcs.revision", "0123456789abcdef", "vcs.modified", "true"),
			"ecolaura dev (revision 0123456789ab+modified, go1.26.8 linux/amd64)"},
		{"no build information", "", nil, "ecolaura dev (go1.26.8 linux/amd64)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, formatVersion(tc.stamped, tc.bi, platform))
		})
	}
}

// TestVersionOfBuiltBinary builds the binary from this checkout twice:
// plainly (the Go tool stamps the module's pseudo-version and the VCS
// revision) and with the Dockerfile's -X main.version stamp.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not on PATH")
	}
	head, err := exec.Command(gitBin, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	if st, err := os.Stat("../../.git"); err != nil || !st.IsDir() {
		// cmd/go looks for a .git directory; a worktree has a .git file.
		t.Skip("the Go tool stamps VCS information only in a checkout with a .git directory (not a git worktree)")
	}
	build := func(args ...string) string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "ecolaura")
		cmd := exec.Command("go", append(append([]string{"build", "-buildvcs=true"}, args...), "-o", bin, ".")...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go build: %s", out)
		return bin
	}
	plain := build()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out := opsRun(t, plain, opsEnv(), args...)
		assert.Contains(t, out, "revision "+string(head[:12]), "ecolaura %s: %s", args[0], out)
		assert.Regexp(t, `^ecolaura v0\.0\.0-\d{14}-[0-9a-f]{12}(\+dirty)? \(`, out, "the pseudo-version of the checkout")
	}
	stamped := build("-ldflags=-X main.version=v9.8.7")
	out := opsRun(t, stamped, opsEnv(), "--version")
	assert.True(t, strings.HasPrefix(out, "ecolaura v9.8.7 (revision "+string(head[:12])), out)
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jwt.pem")
	keygen := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"keygen"}, args...), envOf(nil), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	requireKey := func(path string) jwt.SigningKey {
		t.Helper()
		st, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the key file is private")
		k, err := jwt.LoadSigningKeyFile(path)
		require.NoError(t, err, "the server loads the key")
		assert.Equal(t, "EdDSA", k.Algorithm())
		return k
	}

	code, out, errOut := keygen(path)
	require.Equal(t, 0, code, errOut)
	first := requireKey(path)
	assert.Contains(t, out, "kid "+first.ID(), "the key ID the JWKS will publish")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 PEM")

	code, _, errOut = keygen(path)
	assert.Equal(t, 1, code, "an existing key is never overwritten by accident")
	assert.Contains(t, errOut, "already exists")
	assert.Equal(t, first.ID(), requireKey(path).ID())

	code, out, errOut = keygen("--if-missing", path)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "kept")
	assert.Equal(t, first.ID(), requireKey(path).ID())

	code, _, errOut = keygen("--force", path)
	require.Equal(t, 0, code, errOut)
	assert.NotEqual(t, first.ID(), requireKey(path).ID(), "--force writes a new key")
	left, err := filepath.Glob(filepath.Join(dir, ".ecolaura-key-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file is left behind")

	// A fresh path with a restrictive umask-independent mode, and new keys
	// each time.
	other := filepath.Join(dir, "other.pem")
	code, _, errOut = keygen("--if-missing", other)
	require.Equal(t, 0, code, errOut)
	assert.NotEqual(t, requireKey(path).ID(), requireKey(other).ID())

	// A file that is not a key is not accepted by --if-missing.
	junk := filepath.Join(dir, "junk.pem")
	require.NoError(t, os.WriteFile(junk, []byte("not a key"), 0o600))
	code, _, errOut = keygen("--if-missing", junk)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not a usable signing key")

	code, out, errOut = keygen("-")
	require.Equal(t, 0, code, errOut)
	_, err = jwt.ParseSigningKey([]byte(out))
	assert.NoError(t, err, "the key on stdout parses")

	code, _, errOut = keygen(filepath.Join(dir, "missing", "jwt.pem"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no such file or directory")

	for _, args := range [][]string{nil, {"a", "b"}, {"--force", "--if-missing", path}} {
		code, _, errOut = keygen(args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Contains(t, errOut, "Usage: ecolaura keygen")
	}
}

func TestReadinessURL(t *testing.T) {
	tests := []struct {
		addr, want string
		wantErr    bool
	}{
		{addr: ":8080", want: "http://127.0.0.1:8080/readyz"},
		{addr: "0.0.0.0:9000", want: "http://127.0.0.1:9000/readyz"},
		{addr: "[::]:8080", want: "http://[::1]:8080/readyz"},
		{addr: "10.1.2.3:8080", want: "http://10.1.2.3:8080/readyz"},
		{addr: "localhost:8081", want: "http://localhost:8081/readyz"},
		{addr: "127.0.0.1:0", wantErr: true},
		{addr: "8080", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			got, err := readinessURL(tc.addr)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/readyz", r.URL.Path)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"x"}`))
	}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	check := func(env map[string]string, args ...string) (int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"healthcheck"}, args...), envOf(env), &out, &errOut)
		return code, out.String() + errOut.String()
	}

	code, out := check(map[string]string{"ECOLAURA_ADDR": addr})
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "healthy")

	status = http.StatusServiceUnavailable
	code, out = check(map[string]string{"ECOLAURA_ADDR": addr})
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "answered 503")

	code, out = check(nil, "--url", "http://"+opsFreeAddr(t)+"/readyz")
	assert.Equal(t, 1, code, "nothing listens")
	assert.Contains(t, out, "unhealthy")

	code, _ = check(map[string]string{"ECOLAURA_ADDR": "nonsense"})
	assert.Equal(t, 2, code)
}

// TestUsageHidesCredentials: --help and a mistyped flag print the usage,
// whose defaults come from the environment; the passwords of the URLs in
// it are never printed, for any command that takes them.
func TestUsageHidesCredentials(t *testing.T) {
	env := envOf(map[string]string{
		"ECOLAURA_DATABASE_URL": "postgres://shop:db-secret-1@db.example.org:5432/shop?sslmode=require",
		"ECOLAURA_REDIS_URL":    "redis://:redis-secret-2@cache.example.org:6379/0",
		"ECOLAURA_SMTP_URL":     "smtp://mailer:smtp-secret-3@mail.example.org:587",
		// Secrets without a flag.
		"ECOLAURA_STRIPE_SECRET_KEY": "sk_test_stripe-secret-4", "ECOLAURA_STRIPE_WEBHOOK_SECRET": "whsec_stripe-secret-5",
		"ECOLAURA_SECRET_KEY": "link-secret-6-0123456789abcdef0123456789", "ECOLAURA_ADMIN_PASSWORD": "admin-secret-7",
	})
	commands := [][]string{
		{"serve"}, {"worker"}, {"migrate"}, {"seed"}, {"cache", "flush"},
		{"user", "create"}, {"user", "set-password"}, {"user", "list"},
	}
	for _, cmd := range commands {
		for _, extra := range []string{"--help", "--no-such-flag"} {
			name := strings.Join(cmd, " ") + " " + extra
			t.Run(name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				code := run(context.Background(), append(append([]string(nil), cmd...), extra), env, &out, &errOut)
				require.NotEqual(t, 1, code, "%s", errOut.String())
				usage := out.String() + errOut.String()
				require.Contains(t, usage, "-url", "the usage lists a URL flag")
				for _, secret := range []string{"db-secret-1", "redis-secret-2", "smtp-secret-3", "stripe-secret-4", "stripe-secret-5", "link-secret-6", "admin-secret-7"} {
					assert.NotContains(t, usage, secret)
				}
			})
		}
	}
	assert.Equal(t, "postgres://shop:xxxxx@db.example.org:5432/shop?sslmode=require", redactedURL("postgres://shop:pw@db.example.org:5432/shop?sslmode=require"))
	assert.Equal(t, "(set; not shown)", redactedURL("host=db user=shop password=pw"), "a key=value DSN")
	assert.Equal(t, "(set; not shown)", redactedURL("postgres://db/shop?password=pw"), "a password in the query")
	assert.Equal(t, "", redactedURL(""))
}

// TestHealthcheckOpsOff: --ops with the operations listener turned off says
// so (and how to probe instead), exit 2.
func TestHealthcheckOpsOff(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"healthcheck", "--ops"}, envOf(map[string]string{"ECOLAURA_OPS_ADDR": "off"}), &out, &errOut)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut.String(), "ECOLAURA_OPS_ADDR is off")
	assert.NotContains(t, errOut.String(), "missing port")
}
