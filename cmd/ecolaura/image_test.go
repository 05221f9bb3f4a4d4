package main

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// imageVersion is the VERSION the test builds the image with.
const imageVersion = "v0.0.0-imagetest"

// TestContainerImage builds the image from the shipped Dockerfile with
// podman, as users build it with Docker, except for the builder image,
// which cannot be pulled here: a stand-in is made from this machine's Go
// toolchain and BusyBox's shell. The runtime stage is the Dockerfile's own
// (FROM scratch), so the image's files and user are exactly what users get.
// The test checks the image's configuration and files, then runs its
// one-shot commands and the server (host network) against the machine's
// PostgreSQL and Redis and walks the API through it.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image")
	}
	pm := newPodman(t)
	dbURL := testenv.Postgres(t)
	redisURL, prefix := testenv.RedisURL(), testenv.RedisPrefix()
	deleteRedisKeysAtEnd(t, redisURL, prefix)

	// Containers and intermediate images of earlier runs (the lock is
	// ours: none of them is in use).
	pm.must("rm", "--all", "--force")
	builder := builderImage(t, pm)
	image := fmt.Sprintf("localhost/ecolaura-test:%d", time.Now().UnixNano())
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	start := time.Now()
	pm.must("build", "--format", "docker", "--network", "none", "--pull=never",
		"--build-arg", "BUILDER_IMAGE="+builder,
		"--build-arg", "VERSION="+imageVersion,
		// Modules come from this machine's module cache, not the network.
		"--build-arg", "GOPROXY=file:///goproxy",
		"--volume", filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download")+":/goproxy:ro",
		"--tag", image, "--file", "../../Dockerfile", "../..")
	t.Logf("image built in %s", time.Since(start).Round(time.Second))
	t.Cleanup(func() {
		_, _, _ = pm.run(nil, "rm", "--all", "--force")
		_, _, _ = pm.run(nil, "rmi", "--force", image)
		_, _, _ = pm.run(nil, "image", "prune", "--force")
	})

	t.Run("configuration", func(t *testing.T) {
		var cfg []struct {
			Config struct {
				User         string
				ExposedPorts map[string]any
				Entrypoint   []string
				Cmd          []string
				WorkingDir   string
				Env          []string
			}
			HealthCheck struct {
				Test     []string
				Interval time.Duration
				Timeout  time.Duration
			}
		}
		require.NoError(t, json.Unmarshal([]byte(pm.must("image", "inspect", image)), &cfg))
		require.Len(t, cfg, 1)
		c := cfg[0].Config
		assert.Equal(t, "65532:65532", c.User, "runs as the unprivileged user")
		assert.Contains(t, c.ExposedPorts, "8080/tcp")
		assert.Equal(t, []string{"/usr/local/bin/ecolaura"}, c.Entrypoint)
		assert.Equal(t, []string{"serve"}, c.Cmd)
		assert.Contains(t, c.Env, "ECOLAURA_ADDR=:8080")
		hc := cfg[0].HealthCheck
		assert.Equal(t, []string{"CMD", "/usr/local/bin/ecolaura", "healthcheck"}, hc.Test, "HEALTHCHECK without curl")
		assert.Positive(t, hc.Interval)
		assert.Less(t, hc.Timeout, hc.Interval)
	})

	t.Run("files", func(t *testing.T) {
		files, bin := imageFiles(t, pm, image)
		assert.Equal(t, []string{
			"tmp/ dtrwxrwxrwx 0:0",
			"usr/ drwxr-xr-x 0:0",
			"usr/local/ drwxr-xr-x 0:0",
			"usr/local/bin/ drwxr-xr-x 0:0",
			"usr/local/bin/ecolaura -rwxr-xr-x 0:0",
			"var/ drwxr-xr-x 0:0",
			"var/lib/ drwxr-xr-x 0:0",
			"var/lib/ecolaura/ drwxr-xr-x 0:0",
			"var/lib/ecolaura/keys/ drwxr-x--- 65532:65532",
			"var/lib/ecolaura/media/ drwxr-xr-x 65532:65532",
		}, files, "the image holds the binary, /tmp and the data directories, nothing else; only the data directories belong to the server's user")

		// How the binary was built.
		out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
		require.NoError(t, err, "%s", out)
		info := string(out)
		for _, want := range []string{
			// (-ldflags, with the version, is not recorded with -trimpath:
			// the version is checked by running the binary below.)
			"\tbuild\tCGO_ENABLED=0\n", "\tbuild\t-trimpath=true\n",
			"\tdep\tgolang.org/x/crypto/x509roots/fallback\t", // CA certificates without /etc/ssl
		} {
			assert.Contains(t, info, want)
		}
		assert.Contains(t, info, "\tpath\tgithub.com/ecolaura/ecolaura/cmd/ecolaura\n")
		assert.NotContains(t, info, "vcs.revision", "no VCS information: .git stays out of the build context")
		pkgs, err := exec.Command("go", "list", "-deps", ".").Output()
		require.NoError(t, err)
		assert.Contains(t, strings.Fields(string(pkgs)), "time/tzdata", "the time-zone database is embedded")
	})

	// One-shot commands, as compose runs them.
	keys := t.TempDir()
	require.NoError(t, os.Chown(keys, 65532, 65532))
	runOnce := func(args ...string) string {
		t.Helper()
		base := []string{"run", "--rm", "--network", "host", "--health-interval", "disable",
			"-v", keys + ":/var/lib/ecolaura/keys", "-e", "ECOLAURA_DATABASE_URL=" + dbURL, image}
		return pm.must(append(base, args...)...)
	}
	assert.Equal(t, "ecolaura "+imageVersion+" (go", runOnce("--version")[:len("ecolaura "+imageVersion+" (go")])
	assert.Contains(t, runOnce("keygen", "--if-missing", "/var/lib/ecolaura/keys/jwt.pem"), "wrote a new Ed25519 signing key")
	assert.Contains(t, runOnce("keygen", "--if-missing", "/var/lib/ecolaura/keys/jwt.pem"), "kept the existing signing key")
	st, err := os.Stat(filepath.Join(keys, "jwt.pem"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())
	assert.Equal(t, uint32(65532), statUID(t, st), "written by the server's user")
	assert.Contains(t, runOnce("migrate", "up"), "applied")
	assert.Contains(t, runOnce("seed"), "seeded 79 products")

	// The server.
	addr, opsAddr := opsFreeAddr(t), opsFreeAddr(t)
	name := fmt.Sprintf("ecolaura-test-%d", time.Now().UnixNano())
	pm.must("run", "--detach", "--name", name, "--network", "host", "--health-interval", "disable",
		"-v", keys+":/var/lib/ecolaura/keys:ro",
		"-e", "ECOLAURA_ADDR="+addr, "-e", "ECOLAURA_OPS_ADDR="+opsAddr, "-e", "ECOLAURA_DATABASE_URL="+dbURL,
		"-e", "ECOLAURA_REDIS_URL="+redisURL, "-e", "ECOLAURA_REDIS_PREFIX="+prefix,
		"-e", "ECOLAURA_JWT_KEY_FILE=/var/lib/ecolaura/keys/jwt.pem", "-e", "ECOLAURA_ENV=production",
		// Production needs a real mailer and a secret key; nothing is
		// mailed during this test, so the SMTP server is never dialled.
		"-e", "ECOLAURA_SMTP_URL=smtp://127.0.0.1:2525?tls=none", "-e", "ECOLAURA_MAIL_FROM=Ecolaura <shop@example.org>",
		"-e", "ECOLAURA_SECRET_KEY=image-test-secret-key-0123456789abcdef",
		"-e", "ECOLAURA_PUBLIC_URL=http://"+addr, image)
	t.Cleanup(func() {
		if t.Failed() {
			out, errOut, _ := pm.run(nil, "logs", name)
			t.Logf("container log:\n%s%s", out, errOut)
		}
	})
	base := "http://" + addr
	hc := &http.Client{Timeout: 2 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := hc.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "the container's server did not become ready")
	pm.must("healthcheck", "run", name) // the image's HEALTHCHECK passes (exit 0)
	pid := strings.TrimSpace(pm.must("inspect", "--format", "{{.State.Pid}}", name))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^Uid:\s+65532\s+65532\s+65532\s+65532$`, string(status), "the server process runs as 65532")

	c := &replica{name: "container", base: base}
	st2, _, health := c.json(t, "GET", "/healthz", "", nil, nil)
	require.Equal(t, http.StatusOK, st2)
	assert.Equal(t, imageVersion, health["version"])
	st2, _, page := c.json(t, "GET", "/api/v1/products/?category=kitchen", "", nil, nil)
	require.Equal(t, http.StatusOK, st2)
	assert.Positive(t, page["count"])
	st2, _, v2 := c.json(t, "GET", "/api/v2/products?category=kitchen&sort=score&limit=1", "", nil, nil)
	require.Equal(t, http.StatusOK, st2)
	product := v2["items"].([]any)[0].(map[string]any)["id"].(string)
	st2, _, _ = c.json(t, "POST", "/api/v2/auth/register", "", nil, map[string]any{"email": "box@example.org", "password": "box-password-1", "name": "Box"})
	require.Equal(t, http.StatusCreated, st2)
	token := c.token(t, "box@example.org", "box-password-1")
	st2, h, order := c.json(t, "POST", "/api/v2/orders", token, map[string]string{"Idempotency-Key": "image-1"},
		map[string]any{"lines": []any{map[string]any{"product_id": product, "quantity": 1}}})
	require.Equal(t, http.StatusCreated, st2, "%v", order)
	assert.True(t, strings.HasPrefix(h.Get("Location"), "http://"+addr+"/api/v2/orders/"), h.Get("Location"))
	id := order["id"].(string)
	require.Eventually(t, func() bool {
		_, _, o := c.json(t, "GET", "/api/v2/orders/"+id, token, nil, nil)
		return o["status"] == "confirmed"
	}, 20*time.Second, 50*time.Millisecond, "the container's job runner confirms the order")
	resp, raw := rawRequest(t, base, "GET /openapi.yaml")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, raw, "openapi: 3.1.0")
	resp, raw = rawRequest(t, "http://"+opsAddr, "GET /metrics")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the operations listener serves the metrics")
	assert.Contains(t, raw, "ecolaura_orders_placed_total 1")
	resp, _ = rawRequest(t, base, "GET /metrics")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the API port does not")

	// SIGTERM (podman stop) drains and exits 0.
	pm.must("stop", "--time", "30", name)
	assert.Equal(t, "0", strings.TrimSpace(pm.must("inspect", "--format", "{{.State.ExitCode}}", name)))
	logs, errLogs, err := pm.run(nil, "logs", name)
	require.NoError(t, err)
	assert.Contains(t, logs+errLogs, "http server stopped")
}

// statUID returns the owner of a file.
func statUID(t *testing.T, fi fs.FileInfo) uint32 {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	require.True(t, ok)
	return st.Uid
}

// builderImage returns a builder image standing in for the official Go
// image: this machine's Go toolchain at /usr/local/go and BusyBox's shell
// and tools, with the official image's GOPATH, PATH and HOME. It is made
// once per toolchain and kept.
func builderImage(t *testing.T, pm *podman) string {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testenv.Unavailable(t, "busybox (apt-get install busybox-static)", err)
	}
	if out, err := exec.Command("ldd", busybox).CombinedOutput(); err == nil && !strings.Contains(string(out), "not a dynamic executable") {
		testenv.Unavailable(t, "a static busybox (apt-get install busybox-static)", fmt.Errorf("%s is dynamically linked", busybox))
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err)
	gover, err := exec.Command("go", "env", "GOVERSION").Output()
	require.NoError(t, err)
	bst, err := os.Stat(busybox)
	require.NoError(t, err)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%d|%d|v1", goroot, gover, busybox, bst.Size(), bst.ModTime().UnixNano()))
	ref := "localhost/ecolaura-test-builder:" + strings.TrimSpace(string(gover)) + "-" + hex.EncodeToString(sum[:4])
	if pm.imageExists(ref) {
		return ref
	}
	start := time.Now()
	archive := filepath.Join(t.TempDir(), "builder.tar")
	writeBuilderArchive(t, archive, strings.TrimSpace(string(goroot)), busybox)
	pm.must("import",
		"--change", "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin",
		"--change", "ENV GOPATH=/go", "--change", "ENV HOME=/root", "--change", "ENV GOTOOLCHAIN=local",
		"--change", "WORKDIR /go", archive, ref)
	t.Logf("builder image %s made in %s", ref, time.Since(start).Round(time.Second))
	return ref
}

// writeBuilderArchive writes the builder's root file system: GOROOT as
// /usr/local/go (without its own test suite), BusyBox with a link per
// applet in /bin, and the directories the official image has.
func writeBuilderArchive(t *testing.T, path, goroot, busybox string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	dir := func(name string, mode int64) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: time.Unix(0, 0)}))
	}
	for _, d := range []string{"bin", "usr", "usr/local", "usr/local/bin", "root", "go", "go/bin", "etc"} {
		dir(d, 0o755)
	}
	dir("tmp", 0o1777)
	addFile := func(name, src string, fi fs.FileInfo) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: fi.ModTime()}))
		in, err := os.Open(src)
		require.NoError(t, err)
		_, err = io.Copy(tw, in)
		in.Close()
		require.NoError(t, err)
	}
	bst, err := os.Stat(busybox)
	require.NoError(t, err)
	addFile("bin/busybox", busybox, bst)
	applets, err := exec.Command(busybox, "--list").Output()
	require.NoError(t, err)
	for _, a := range strings.Fields(string(applets)) {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: time.Unix(0, 0)}))
	}
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Size: int64(len("root:x:0:0:root:/root:/bin/sh\n"))}))
	_, err = tw.Write([]byte("root:x:0:0:root:/root:/bin/sh\n"))
	require.NoError(t, err)

	require.NoError(t, filepath.WalkDir(goroot, func(src string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(goroot, src)
		if err != nil {
			return err
		}
		if rel == "test" {
			return filepath.SkipDir
		}
		name := "usr/local/go"
		if rel != "." {
			name += "/" + filepath.ToSlash(rel)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dir(name, int64(fi.Mode().Perm()))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: fi.ModTime()})
		case fi.Mode().IsRegular():
			addFile(name, src, fi)
		}
		return nil
	}))
	require.NoError(t, tw.Close())
	require.NoError(t, bw.Flush())
}

// imageFiles lists the image's files as "path mode uid:gid", sorted, and
// extracts the server binary to a temporary file.
func imageFiles(t *testing.T, pm *podman, image string) ([]string, string) {
	t.Helper()
	ctr := strings.TrimSpace(pm.must("create", "--health-interval", "disable", image))
	defer func() { _, _, _ = pm.run(nil, "rm", "--force", ctr) }()
	archive := filepath.Join(t.TempDir(), "rootfs.tar")
	pm.must("export", "--output", archive, ctr)
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	bin := filepath.Join(t.TempDir(), "ecolaura")
	var files []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		name := strings.TrimPrefix(h.Name, "./")
		if name == "" {
			continue
		}
		files = append(files, fmt.Sprintf("%s %s %d:%d", name, h.FileInfo().Mode(), h.Uid, h.Gid))
		if name == "usr/local/bin/ecolaura" {
			out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
			require.NoError(t, err)
			_, err = io.Copy(out, tr)
			require.NoError(t, err)
			require.NoError(t, out.Close())
		}
	}
	sort.Strings(files)
	return files, bin
}
