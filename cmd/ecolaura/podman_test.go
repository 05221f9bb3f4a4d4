package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// podman runs Debian's podman for the image tests with a configuration of
// its own: the runc runtime, vfs storage, no default ulimits (the sandbox
// refuses to raise them), cgroupfs, and every directory podman writes under
// one private root, so that nothing global is read or changed. The root
// outlives the test (ECOLAURA_TEST_PODMAN_ROOT, by default
// $XDG_CACHE_HOME/ecolaura-test/podman) so that the builder image and the
// Go build cache are reused; runs on one machine take turns on its lock.
type podman struct {
	t    *testing.T
	bin  string
	env  []string
	root string
}

// (The static and volume directories stay where podman puts them, under
// the storage root: setting them here makes the clean-up process conmon
// starts, which gets no such setting, fail, and every container's exit wait
// 20 s.)

// newPodman prepares podman, or skips loudly (fails when services are
// required) when podman or runc is missing.
func newPodman(t *testing.T) *podman {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		testenv.Unavailable(t, "podman (apt-get install podman runc)", err)
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/runc"); serr != nil {
			testenv.Unavailable(t, "runc (apt-get install runc)", err)
		}
		runc = "/usr/sbin/runc"
	}
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "podman as root", fmt.Errorf("the image test runs podman as root, with vfs storage; running as uid %d", os.Geteuid()))
	}
	root := os.Getenv("ECOLAURA_TEST_PODMAN_ROOT")
	if root == "" {
		cache, err := os.UserCacheDir()
		require.NoError(t, err)
		root = filepath.Join(cache, "ecolaura-test", "podman")
	}
	require.NoError(t, os.MkdirAll(root, 0o700))
	lockFile(t, filepath.Join(root, "lock"))

	// Runtime state belongs on a temporary file system; the path must stay
	// the same from run to run (podman records it with the storage).
	sum := sha256.Sum256([]byte(root))
	run := filepath.Join(os.TempDir(), "ecolaura-podman-run-"+hex.EncodeToString(sum[:6]))
	for _, d := range []string{run, filepath.Join(root, "tmp"), filepath.Join(root, "networks")} {
		require.NoError(t, os.MkdirAll(d, 0o700))
	}
	conf := fmt.Sprintf(`[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "%[1]s/events.log"
tmp_dir = "%[1]s/libpod"
[engine.runtimes]
runc = ["%[3]s"]

[network]
network_backend = "netavark"
network_config_dir = "%[2]s/networks"
`, run, root, runc)
	storage := fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = \"%s/storage\"\nrunroot = \"%s/storage\"\n", root, run)
	registries := "unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n"
	for name, content := range map[string]string{"containers.conf": conf, "storage.conf": storage, "registries.conf": registries} {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(content), 0o600))
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "CONTAINERS_") && !strings.HasPrefix(e, "TMPDIR=") && !strings.HasPrefix(e, "XDG_RUNTIME_DIR=") {
			env = append(env, e)
		}
	}
	env = append(env,
		"CONTAINERS_CONF="+filepath.Join(root, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(root, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(root, "registries.conf"),
		// Buildah keeps RUN --mount=type=cache directories under TMPDIR:
		// the module and build caches survive from one run to the next.
		"TMPDIR="+filepath.Join(root, "tmp"),
		"XDG_RUNTIME_DIR="+run,
	)
	return &podman{t: t, bin: bin, env: env, root: root}
}

// lockFile holds an exclusive lock on path until t ends.
func lockFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	if waited := time.Since(start); waited > time.Second {
		t.Logf("waited %s for another run's podman lock", waited.Round(time.Second))
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	})
}

// run runs podman with args and returns its stdout and stderr.
func (p *podman) run(stdin []byte, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// must runs podman and fails the test when it fails.
func (p *podman) must(args ...string) string {
	p.t.Helper()
	out, errOut, err := p.run(nil, args...)
	require.NoError(p.t, err, "podman %s\n%s%s", strings.Join(args, " "), out, errOut)
	return out
}

// exists reports whether the image exists.
func (p *podman) imageExists(ref string) bool {
	_, _, err := p.run(nil, "image", "exists", ref)
	return err == nil
}
