package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// The deployment files, checked here because the Docker engine and systemd
// do not run on the CI machines: their syntax (parsed with the parsers the
// tools use where one exists), the files and commands they name, and the
// settings that must agree between them and the server.

const repoRoot = "../.."

// knownVariables returns every ECOLAURA_* name the command's sources read.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	re := regexp.MustCompile(`"(ECOLAURA_[A-Z0-9_]+)"`)
	known := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
			known[m[1]] = true
		}
	}
	require.True(t, known["ECOLAURA_DATABASE_URL"], "the scan finds the variables")
	return known
}

// dockerfile is the parsed Dockerfile: its global ARGs and its stages.
type dockerfile struct {
	args   map[string]string // ARG name -> default, before the first FROM
	stages []dockerStage
}

type dockerStage struct {
	from, name string
	instr      []*parser.Node
}

// find returns the stage's instructions of one kind (lower case).
func (s dockerStage) find(kind string) []*parser.Node {
	var out []*parser.Node
	for _, n := range s.instr {
		if strings.EqualFold(n.Value, kind) {
			out = append(out, n)
		}
	}
	return out
}

// words returns an instruction's arguments.
func words(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	res, err := parser.Parse(bytes.NewReader(raw))
	require.NoError(t, err, "Dockerfile syntax")
	assert.Empty(t, res.Warnings, "Dockerfile parser warnings")
	df := dockerfile{args: map[string]string{}}
	for _, n := range res.AST.Children {
		switch {
		case strings.EqualFold(n.Value, "from"):
			w := words(n)
			s := dockerStage{from: w[0]}
			if len(w) == 3 && strings.EqualFold(w[1], "as") {
				s.name = w[2]
			}
			df.stages = append(df.stages, s)
		case len(df.stages) == 0:
			require.True(t, strings.EqualFold(n.Value, "arg"), "only ARG may come before the first FROM: %s", n.Original)
			name, def, _ := strings.Cut(words(n)[0], "=")
			df.args[name] = def
		default:
			df.stages[len(df.stages)-1].instr = append(df.stages[len(df.stages)-1].instr, n)
		}
	}
	return df
}

func TestDockerfile(t *testing.T) {
	df := parseDockerfile(t)
	require.Len(t, df.stages, 2, "a builder stage and a runtime stage")
	assert.True(t, strings.HasPrefix(df.args["BUILDER_IMAGE"], "golang:"), "the official Go image builds by default: %q", df.args["BUILDER_IMAGE"])
	assert.Equal(t, "scratch", df.args["RUNTIME_IMAGE"], "an empty runtime base: the image holds only what the last stage copies")
	build, runtime := df.stages[0], df.stages[1]
	assert.Equal(t, "${BUILDER_IMAGE}", build.from)
	assert.Equal(t, "${RUNTIME_IMAGE}", runtime.from)

	// The builder: a static, trimmed, stamped binary of this command.
	var env []string
	for _, n := range build.find("env") {
		env = append(env, words(n)...)
	}
	assert.Contains(t, strings.Join(env, " "), "CGO_ENABLED 0", "ENV CGO_ENABLED=0")
	var buildCmd string
	for _, n := range build.find("run") {
		if s := strings.Join(words(n), " "); strings.Contains(s, "go build") {
			buildCmd = s
		}
	}
	require.NotEmpty(t, buildCmd, "a RUN with go build")
	for _, want := range []string{"-trimpath", "-X main.version=${VERSION}", "./cmd/ecolaura"} {
		assert.Contains(t, buildCmd, want)
	}
	_, err := os.Stat(filepath.Join(repoRoot, "cmd", "ecolaura", "main.go"))
	require.NoError(t, err)
	var buildArgs []string
	for _, n := range build.find("arg") {
		buildArgs = append(buildArgs, words(n)...)
	}
	assert.Contains(t, buildArgs, "VERSION=")

	// Files copied from the build context exist and are not ignored.
	ignore := dockerIgnore(t)
	for _, n := range build.find("copy") {
		w := words(n)
		for _, src := range w[:len(w)-1] {
			_, err := os.Stat(filepath.Join(repoRoot, src))
			assert.NoError(t, err, "COPY %s", src)
			if src != "." {
				ignored, err := ignore.MatchesOrParentMatches(src)
				require.NoError(t, err)
				assert.False(t, ignored, "COPY %s names a file .dockerignore leaves out", src)
			}
		}
	}

	// The runtime stage: only what the builder made, a numeric non-root
	// user, the port, a HEALTHCHECK and the entry point.
	var entry string
	for _, n := range runtime.find("copy") {
		assert.Contains(t, n.Flags, "--from=build", "the runtime stage copies from the builder only: %s", n.Original)
	}
	users := runtime.find("user")
	require.Len(t, users, 1)
	user := words(users[0])[0]
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(uid)
	require.NoError(t, err, "USER %s is numeric (no /etc/passwd in the image)", user)
	assert.NotZero(t, n, "not root")
	for _, e := range runtime.find("entrypoint") {
		require.True(t, e.Attributes["json"], "exec form")
		entry = words(e)[0]
	}
	assert.Equal(t, "/usr/local/bin/ecolaura", entry)
	var copied []string
	for _, n := range runtime.find("copy") {
		w := words(n)
		copied = append(copied, w[len(w)-1])
	}
	assert.Contains(t, copied, "/", "the binary is part of the root tree the stage copies")
	assert.Contains(t, buildCmd, "-o /out/root"+entry, "the binary is built where the runtime stage takes it")

	var addr, opsAddr string
	for _, e := range runtime.find("env") {
		w := words(e)
		for i := 0; i+1 < len(w); i += 2 {
			switch w[i] {
			case "ECOLAURA_ADDR":
				addr = w[i+1]
			case "ECOLAURA_OPS_ADDR":
				opsAddr = w[i+1]
			}
		}
	}
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err, "ENV ECOLAURA_ADDR")
	opsHost, opsPort, err := net.SplitHostPort(opsAddr)
	require.NoError(t, err, "ENV ECOLAURA_OPS_ADDR")
	assert.Empty(t, opsHost, "the operations listener is reached on the container's address (probes, Prometheus)")
	expose := runtime.find("expose")
	require.Len(t, expose, 1)
	assert.Equal(t, []string{port, opsPort}, words(expose[0]), "EXPOSE the ports the server listens on")

	hc := runtime.find("healthcheck")
	require.Len(t, hc, 1)
	require.NotNil(t, hc[0].Next)
	assert.Equal(t, "CMD", hc[0].Next.Value)
	require.NotNil(t, hc[0].Next.Next)
	cmd := words(hc[0].Next)
	assert.Equal(t, []string{entry, "healthcheck"}, cmd, "HEALTHCHECK runs `ecolaura healthcheck` (exec form, no shell, no curl)")
	for _, f := range hc[0].Flags {
		if v, ok := strings.CutPrefix(f, "--timeout="); ok {
			d, err := time.ParseDuration(v)
			require.NoError(t, err)
			assert.Greater(t, d, 3*time.Second, "longer than `ecolaura healthcheck`'s own 3 s timeout")
		}
	}
	cmds := runtime.find("cmd")
	require.Len(t, cmds, 1)
	assert.Equal(t, []string{"serve"}, words(cmds[0]))
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"healthcheck", "--help"}, envOf(nil), &out, &errOut))
}

// dockerIgnore parses .dockerignore with the matcher Docker uses.
func dockerIgnore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	require.NoError(t, err)
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	require.NoError(t, err)
	pm, err := patternmatcher.New(patterns)
	require.NoError(t, err)
	return pm
}

// TestDockerIgnore: the build context keeps every file the binary is built
// from (Go sources of the packages it imports, embedded files, go.mod and
// go.sum) and leaves tests, Git and the deployment files out.
func TestDockerIgnore(t *testing.T) {
	ignore := dockerIgnore(t)
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}|{{join .GoFiles ","}}|{{join .EmbedFiles ","}}{{end}}{{end}}`, ".").Output()
	require.NoError(t, err)
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	needed := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		require.Len(t, parts, 3, line)
		rel, err := filepath.Rel(root, parts[0])
		require.NoError(t, err)
		for _, list := range parts[1:] {
			for _, f := range strings.Split(list, ",") {
				if f != "" {
					needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
				}
			}
		}
	}
	require.Contains(t, needed, "migrations/migrations.go")
	for _, f := range needed {
		ignored, err := ignore.MatchesOrParentMatches(f)
		require.NoError(t, err)
		assert.False(t, ignored, "%s is needed to build the binary but .dockerignore leaves it out", f)
	}
	for _, f := range []string{".git", ".git/config", "cmd/ecolaura/main_test.go", "compose.yaml", "deploy/nginx/ecolaura.conf", "README.md", "docs/operations.md"} {
		ignored, err := ignore.MatchesOrParentMatches(f)
		require.NoError(t, err)
		assert.True(t, ignored, "%s stays out of the build context", f)
	}
}

// composeFile is the part of compose.yaml the test reads (YAML anchors and
// merge keys resolved by the decoder, as Compose does).
type composeFile struct {
	Name     string
	Services map[string]composeService
	// Extensions are the x- fields (where the anchors are defined).
	Extensions map[string]any `yaml:",inline"`
	Networks   map[string]struct {
		IPAM struct {
			Config []struct{ Subnet string }
		} `yaml:"ipam"`
	}
	Volumes map[string]any
}

type composeService struct {
	Image string
	Build *struct {
		Context string
		Args    map[string]string
	}
	Command     []string
	Environment map[string]string
	Volumes     []string
	Ports       []string
	Restart     string
	DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
	Healthcheck *struct {
		Test        []string
		Disable     bool
		Interval    string
		Timeout     string
		StartPeriod string `yaml:"start_period"`
		Retries     int
	}
	StopGracePeriod string `yaml:"stop_grace_period"`
	Networks        any
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "compose.yaml"))
	require.NoError(t, err)
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true) // a misspelt key (depend_on) is an error
	require.NoError(t, dec.Decode(&c), "compose.yaml")
	require.NotEmpty(t, c.Services)
	for k := range c.Extensions {
		assert.True(t, strings.HasPrefix(k, "x-"), "unknown top-level key %s", k)
	}
	return c
}

func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	df := parseDockerfile(t)
	known := knownVariables(t)
	ngx := parseNginxConf(t)

	for _, name := range []string{"postgres", "redis", "keygen", "migrate", "seed", "api-1", "api-2", "worker", "nginx", "mailpit"} {
		require.Contains(t, c.Services, name)
	}
	ours := func(s composeService) bool { return s.Build != nil }
	imageName := c.Services["api-1"].Image
	require.NotEmpty(t, imageName)

	for name, s := range c.Services {
		t.Run(name, func(t *testing.T) {
			for dep, d := range s.DependsOn {
				target, ok := c.Services[dep]
				require.True(t, ok, "depends on a service that does not exist: %s", dep)
				switch d.Condition {
				case "service_healthy":
					healthy := target.Healthcheck != nil && len(target.Healthcheck.Test) > 0 && !target.Healthcheck.Disable
					assert.True(t, healthy, "%s waits for %s to be healthy, which has no health check", name, dep)
				case "service_completed_successfully":
					assert.Equal(t, "no", target.Restart, "%s waits for the one-shot %s, which must not restart", name, dep)
				default:
					t.Errorf("depends_on %s: condition %q", dep, d.Condition)
				}
			}
			for _, v := range s.Volumes {
				src, _, ok := strings.Cut(v, ":")
				require.True(t, ok, "volume %q", v)
				if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
					_, err := os.Stat(filepath.Join(repoRoot, src))
					assert.NoError(t, err, "bind mount %s", src)
				} else {
					assert.Contains(t, c.Volumes, src, "named volume %s is declared", src)
				}
			}
			if !ours(s) {
				assert.NotEmpty(t, s.Image)
				assert.NotContains(t, s.Image, "ecolaura")
				return
			}
			assert.Equal(t, imageName, s.Image, "one image for every Ecolaura service")
			assert.Equal(t, ".", s.Build.Context)
			for k := range s.Environment {
				assert.True(t, known[k], "%s is not a variable the server reads", k)
			}
			require.NotEmpty(t, s.Command)
			var out, errOut bytes.Buffer
			require.Equal(t, 0, run(context.Background(), []string{s.Command[0], "--help"}, envOf(nil), &out, &errOut),
				"`ecolaura %s` exists: %s", s.Command[0], errOut.String())
			if s.Healthcheck != nil && !s.Healthcheck.Disable {
				want := []string{"CMD", "/usr/local/bin/ecolaura", "healthcheck"}
				if s.Command[0] == "worker" {
					want = append(want, "--ops") // no API: the operations listener
				}
				assert.Equal(t, want, s.Healthcheck.Test)
			}
			if s.Restart != "no" {
				require.NotNil(t, s.Healthcheck, "a long-running service is probed")
				assert.False(t, s.Healthcheck.Disable)
			}
		})
	}

	// The environment each command really gets: the image's, then the
	// service's.
	envFor := func(s composeService) getenv {
		m := map[string]string{}
		for _, st := range df.stages[1:] {
			for _, e := range st.find("env") {
				w := words(e)
				for i := 0; i+1 < len(w); i += 2 {
					m[w[i]] = w[i+1]
				}
			}
		}
		for k, v := range s.Environment {
			m[k] = v
		}
		return envOf(m)
	}

	// The one-shots.
	keygen := c.Services["keygen"]
	keyPath := keygen.Command[len(keygen.Command)-1]
	assert.Equal(t, []string{"keygen", "--if-missing", keyPath}, keygen.Command, "keygen keeps the key of an earlier start")
	local := filepath.Join(t.TempDir(), filepath.Base(keyPath))
	var out, errOut bytes.Buffer
	args := append(slices.Clone(keygen.Command[:len(keygen.Command)-1]), local)
	require.Equal(t, 0, run(context.Background(), args, envOf(nil), &out, &errOut), errOut.String())
	_, err := jwt.LoadSigningKeyFile(local)
	require.NoError(t, err)
	assert.Equal(t, []string{"migrate", "up"}, c.Services["migrate"].Command)
	assert.Equal(t, []string{"seed"}, c.Services["seed"].Command)

	// The API replicas and the worker.
	shutdown := 30 * time.Second
	for _, name := range []string{"api-1", "api-2"} {
		s := c.Services[name]
		assert.Equal(t, "serve", s.Command[0])
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, err := loadServeConfig(s.Command[1:], envFor(s), fs)
		require.NoError(t, err, "%s's configuration", name)
		assert.True(t, cfg.NoWorkers, "%s runs no jobs: the worker does", name)
		assert.Equal(t, keyPath, cfg.JWTKeyFile, "%s signs with the key keygen writes", name)
		assert.Greater(t, cfg.IdleDrainTimeout, ngx.keepaliveTimeout, "%s leaves idle connections to nginx for longer than nginx keeps them", name)
		assert.Zero(t, cfg.DrainDelay, "behind nginx a stopping replica refuses new connections at once")
		grace, err := time.ParseDuration(s.StopGracePeriod)
		require.NoError(t, err)
		assert.Greater(t, grace, cfg.ShutdownTimeout, "%s: compose waits longer than the server drains", name)
		shutdown = cfg.ShutdownTimeout
		for _, dep := range []string{"keygen", "migrate", "seed", "redis"} {
			assert.Contains(t, s.DependsOn, dep, "%s starts after %s", name, dep)
		}

		// Only nginx is trusted with X-Forwarded-*, by its fixed address.
		nginxNet, ok := c.Services["nginx"].Networks.(map[string]any)
		require.True(t, ok, "nginx has a fixed address")
		var nginxIP string
		for netName, v := range nginxNet {
			nginxIP, _ = v.(map[string]any)["ipv4_address"].(string)
			require.Contains(t, c.Networks, netName)
			_, subnet, err := net.ParseCIDR(c.Networks[netName].IPAM.Config[0].Subnet)
			require.NoError(t, err)
			assert.True(t, subnet.Contains(net.ParseIP(nginxIP)), "nginx's address %s is in its network %s", nginxIP, subnet)
		}
		assert.Equal(t, []string{nginxIP}, cfg.TrustedProxies, "%s trusts nginx, and nobody else", name)

		// Absolute URLs point at nginx's published port.
		u, err := url.Parse(cfg.PublicURL)
		require.NoError(t, err)
		require.Len(t, c.Services["nginx"].Ports, 1)
		published, inside, _ := strings.Cut(c.Services["nginx"].Ports[0], ":")
		assert.Equal(t, published, u.Port(), "ECOLAURA_PUBLIC_URL names nginx's published port")
		assert.Equal(t, ngx.listen, inside, "nginx publishes the port the shipped configuration listens on")
	}
	w := c.Services["worker"]
	assert.Equal(t, []string{"worker"}, w.Command)
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err = loadWorkerConfig(w.Command[1:], envFor(w), fs)
	require.NoError(t, err, "the worker's configuration")
	grace, err := time.ParseDuration(w.StopGracePeriod)
	require.NoError(t, err)
	assert.Greater(t, grace, shutdown)

	n := c.Services["nginx"]
	assert.Contains(t, n.Volumes, "./deploy/nginx/ecolaura.conf:/etc/nginx/conf.d/default.conf:ro", "the shipped configuration replaces the image's default server")
	assert.Contains(t, n.Volumes, "media:"+ngx.mediaDir[:len(ngx.mediaDir)-1]+":ro", "nginx serves the replicas' media volume where its configuration looks")
	assert.Contains(t, c.Services["api-1"].Volumes, "media:"+ngx.mediaDir[:len(ngx.mediaDir)-1])
	for _, dep := range []string{"api-1", "api-2"} {
		assert.Equal(t, "service_healthy", n.DependsOn[dep].Condition, "nginx starts once %s is ready", dep)
	}
}

// nginxConf is what the compose file and the server must agree with in
// the shipped nginx configuration.
type nginxConf struct {
	text             string
	keepaliveTimeout time.Duration
	bodyLimit        int
	listen           string
	mediaDir         string
	uploadLimit      int
}

// parseNginxConf reads the directives the other files depend on (nginx
// -t checks the syntax in TestNginxInFrontOfTwoReplicas).
func parseNginxConf(t *testing.T) nginxConf {
	t.Helper()
	raw, err := os.ReadFile(shippedNginxConf)
	require.NoError(t, err)
	c := nginxConf{text: string(raw)}
	directive := func(name string) []string {
		t.Helper()
		var out []string
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				out = append(out, strings.TrimSuffix(strings.TrimSpace(v), ";"))
			}
		}
		return out
	}
	ka := directive("keepalive_timeout")
	require.Len(t, ka, 1, "one upstream keepalive_timeout")
	c.keepaliveTimeout, err = time.ParseDuration(ka[0])
	require.NoError(t, err)
	size := directive("client_max_body_size")
	require.Len(t, size, 2, "the server's limit, and the image upload's")
	require.True(t, strings.HasSuffix(size[0], "m"), "client_max_body_size in megabytes: %s", size[0])
	mb, err := strconv.Atoi(strings.TrimSuffix(size[0], "m"))
	require.NoError(t, err)
	c.bodyLimit = mb << 20
	require.True(t, strings.HasSuffix(size[1], "k"), "the upload's client_max_body_size in KiB: %s", size[1])
	kb, err := strconv.Atoi(strings.TrimSuffix(size[1], "k"))
	require.NoError(t, err)
	c.uploadLimit = kb << 10
	listen := directive("listen")
	require.Len(t, listen, 1)
	c.listen = listen[0]
	alias := directive("alias")
	require.Len(t, alias, 1)
	c.mediaDir = alias[0]
	return c
}

// TestNginxConf: the shipped nginx configuration matches the server.
func TestNginxConf(t *testing.T) {
	c := parseNginxConf(t)
	assert.Equal(t, httpapi.DefaultBodyLimit, c.bodyLimit, "client_max_body_size is the server's body limit")
	assert.Equal(t, httpapi.MaxUploadBody, c.uploadLimit, "and the image upload's")
	assert.Regexp(t, `(?m)^\s*add_header Cache-Control "public, max-age=31536000, immutable" always;`, c.text, "media files are cached for good")
	assert.Less(t, c.keepaliveTimeout, httpapi.DefaultIdleTimeout, "nginx closes idle upstream connections before the server would")
	assert.Regexp(t, `(?m)^\s*keepalive \d+;`, c.text, "keep-alive connections to the replicas")
	assert.Regexp(t, `(?m)^\s*proxy_http_version 1\.1;`, c.text)
	assert.Regexp(t, `(?m)^\s*proxy_set_header Connection "";`, c.text)
	next := regexp.MustCompile(`(?m)^\s*proxy_next_upstream ([^;]*);`).FindAllStringSubmatch(c.text, -1)
	require.Len(t, next, 1)
	assert.NotContains(t, next[0][1], "non_idempotent", "nginx never resends a POST it has sent")
	assert.Contains(t, next[0][1], "error", "a refused connection is retried on another replica")
	for _, h := range []string{"X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme", "X-Forwarded-Host $http_host", "X-Request-Id $ecolaura_request_id", "Host $http_host"} {
		assert.Contains(t, c.text, "proxy_set_header "+h+";")
	}
	assert.Regexp(t, `(?m)^\s*gzip_types [^;]*application/json`, c.text)
	assert.NotContains(t, c.text, "location /metrics", "/metrics is not proxied")
	assert.NotContains(t, c.text, "location = /metrics")
}

// TestSystemdUnit checks deploy/systemd/ecolaura.service: the commands it
// runs, the settings it gives the server, its sandboxing, and (where
// systemd-analyze exists) its syntax.
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join(repoRoot, "deploy", "systemd", "ecolaura.service")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	known := knownVariables(t)
	unit := map[string][]string{} // "Section.Key" -> values in order
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "not a key=value line: %q", line)
			unit[section+"."+k] = append(unit[section+"."+k], v)
		}
	}
	env := map[string]string{}
	for _, e := range unit["Service.Environment"] {
		k, v, ok := strings.Cut(e, "=")
		require.True(t, ok)
		env[k] = v
		if strings.HasPrefix(k, "ECOLAURA_") {
			assert.True(t, known[k], "%s is not a variable the server reads", k)
		}
	}
	assert.Equal(t, []string{"/usr/local/bin/ecolaura serve"}, unit["Service.ExecStart"])
	keyPath := env["ECOLAURA_JWT_KEY_FILE"]
	assert.Equal(t, []string{"/usr/local/bin/ecolaura keygen --if-missing " + keyPath}, unit["Service.ExecStartPre"], "the key is made on the first start and kept")
	assert.True(t, strings.HasPrefix(keyPath, "/var/lib/ecolaura/keys/"))
	assert.Contains(t, strings.Fields(unit["Service.StateDirectory"][0]), "ecolaura/keys", "the key's directory is a state directory the service may write")

	// The server accepts the unit's settings (the rest comes from the
	// environment file, as the comments describe).
	env["ECOLAURA_DATABASE_URL"] = "postgres://ecolaura@db.internal/ecolaura"
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadServeConfig(nil, envOf(env), fs)
	require.NoError(t, err)
	stop, err := time.ParseDuration(unit["Service.TimeoutStopSec"][0])
	require.NoError(t, err)
	assert.Greater(t, stop, cfg.ShutdownTimeout, "systemd waits longer than the server drains")
	assert.Greater(t, cfg.IdleDrainTimeout, parseNginxConf(t).keepaliveTimeout)
	assert.Equal(t, []string{"2"}, unit["Service.RestartPreventExitStatus"], "a configuration error (exit 2) is not restarted")

	for _, k := range []string{"DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"PrivateDevices=yes", "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "MemoryDenyWriteExecute=yes",
		"SystemCallFilter=@system-service", "UMask=0077"} {
		key, val, _ := strings.Cut(k, "=")
		assert.Contains(t, unit["Service."+key], val, "sandboxing: %s", k)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Unavailable(t, "systemd-analyze (apt-get install systemd)", err)
	}
	// systemd-analyze checks that the binary exists: point it at one.
	bin, err := os.Executable()
	require.NoError(t, err)
	local := filepath.Join(t.TempDir(), "ecolaura.service")
	require.NoError(t, os.WriteFile(local, []byte(strings.ReplaceAll(string(raw), "/usr/local/bin/ecolaura", bin)), 0o644))
	out, err := exec.Command(analyze, "verify", local).CombinedOutput()
	assert.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify reports problems")
}
