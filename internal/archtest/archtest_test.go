package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func listPackages(t *testing.T) []Package {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json", "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())
	dec := json.NewDecoder(bytes.NewReader(out))
	var pkgs []Package
	for {
		var p Package
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

func TestModuleFollowsTheDependencyRule(t *testing.T) {
	pkgs := listPackages(t)
	var sawDomain, sawPorts bool
	for _, p := range pkgs {
		sawDomain = sawDomain || p.ImportPath == Module+"/ecolaura"
		sawPorts = sawPorts || p.ImportPath == Module+"/ports"
	}
	require.True(t, sawDomain && sawPorts, "go list must see the domain and ports packages")
	for _, v := range Check(pkgs) {
		t.Error(v)
	}
}

func TestCheckReportsEachKindOfViolation(t *testing.T) {
	m := Module
	tests := []struct {
		name string
		pkg  Package
		want []string
	}{
		{
			name: "domain importing a third-party module",
			pkg:  Package{ImportPath: m + "/ecolaura", Imports: []string{"fmt", "github.com/google/uuid"}},
			want: []string{m + "/ecolaura imports github.com/google/uuid: the domain package may import only the standard library (and golang.org/x/text)"},
		},
		{
			name: "domain importing Unicode data",
			pkg:  Package{ImportPath: m + "/ecolaura", Imports: []string{"fmt", "golang.org/x/text/secure/precis"}},
		},
		{
			name: "ports importing an adapter",
			pkg:  Package{ImportPath: m + "/ports", Imports: []string{m + "/ecolaura", m + "/adapters/memory"}},
			want: []string{m + "/ports imports " + m + "/adapters/memory: ports may import only the domain package and the standard library"},
		},
		{
			name: "service importing an adapter",
			pkg:  Package{ImportPath: m + "/ecolaura/catalog", Imports: []string{m + "/ports", m + "/adapters/postgres"}},
			want: []string{m + "/ecolaura/catalog imports " + m + "/adapters/postgres: services must not import adapters (only ecolaura/shop may wire the in-process adapters)"},
		},
		{
			name: "service depending on Fiber transitively",
			pkg:  Package{ImportPath: m + "/ecolaura/orders", Deps: []string{"github.com/gofiber/fiber/v2"}},
			want: []string{m + "/ecolaura/orders imports github.com/gofiber/fiber/v2: the core must not depend on infrastructure libraries (directly or transitively)"},
		},
		{
			name: "shop wiring memory is allowed",
			pkg:  Package{ImportPath: m + "/ecolaura/shop", Imports: []string{m + "/adapters/memory", m + "/adapters/system"}},
		},
		{
			name: "shop wiring postgres is not",
			pkg:  Package{ImportPath: m + "/ecolaura/shop", Imports: []string{m + "/adapters/postgres"}},
			want: []string{m + "/ecolaura/shop imports " + m + "/adapters/postgres: services must not import adapters (only ecolaura/shop may wire the in-process adapters)"},
		},
		{
			name: "adapters importing each other",
			pkg:  Package{ImportPath: m + "/adapters/redis", Imports: []string{m + "/adapters/memory"}},
			want: []string{m + "/adapters/redis imports " + m + "/adapters/memory: adapters must not import each other"},
		},
		{
			name: "porttest may not use an adapter",
			pkg:  Package{ImportPath: m + "/ports/porttest", Imports: []string{m + "/adapters/system"}},
			want: []string{m + "/ports/porttest imports " + m + "/adapters/system: the ports' test kits may import only the domain, ports and libraries"},
		},
		{
			name: "porttest may use the domain, ports and libraries",
			pkg:  Package{ImportPath: m + "/ports/porttest", Imports: []string{m + "/ecolaura", m + "/ports", "github.com/stretchr/testify/require"}},
		},
		{
			name: "adapters share an internal library",
			pkg:  Package{ImportPath: m + "/adapters/redis", Imports: []string{m + "/internal/ratelimit", m + "/ports"}},
		},
		{
			name: "importing cmd",
			pkg:  Package{ImportPath: m + "/adapters/httpapi", Imports: []string{m + "/cmd/ecolaura"}},
			want: []string{m + "/adapters/httpapi imports " + m + "/cmd/ecolaura: nothing may import cmd"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Check([]Package{tt.pkg}))
		})
	}
}

// An internal library two adapters share must not be a back door through
// which one adapter reaches another.
func TestCheckReportsAnAdapterReachedThroughAnInternalLibrary(t *testing.T) {
	m := Module
	pkgs := []Package{
		{ImportPath: m + "/internal/shared", Imports: []string{m + "/adapters/memory"}, Deps: []string{m + "/adapters/memory", m + "/ports"}},
		{ImportPath: m + "/adapters/redis", Imports: []string{m + "/internal/shared"}},
		{ImportPath: m + "/internal/storetest", Imports: []string{m + "/adapters/memory"}, Deps: []string{m + "/adapters/memory"}},
	}
	assert.Equal(t, []string{
		m + "/adapters/redis imports " + m + "/internal/shared: adapters may share only internal libraries that depend on no adapter",
	}, Check(pkgs), "a test kit under internal/ may use adapters; an adapter may not import it")
}

var update = flag.Bool("update", false, "rewrite the dependency picture of docs/architecture.md from go list")

// The dependency picture of docs/architecture.md sits between these markers.
const (
	pictureBegin = "<!-- dependency picture: generated from go list, checked by internal/archtest -->\n```text\n"
	pictureEnd   = "```\n<!-- end of dependency picture -->"
)

// TestArchitectureDocShowsTheImportGraph: the dependency picture of
// docs/architecture.md is the module's import graph as go list reports it.
// Run `go test ./internal/archtest -run TestArchitectureDoc -update` to
// rewrite it after changing imports.
func TestArchitectureDocShowsTheImportGraph(t *testing.T) {
	path := filepath.Join(moduleRoot(t), "docs", "architecture.md")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(raw)
	before, rest, ok := strings.Cut(doc, pictureBegin)
	require.True(t, ok, "docs/architecture.md lacks the marker %q", pictureBegin)
	got, after, ok := strings.Cut(rest, pictureEnd)
	require.True(t, ok, "docs/architecture.md lacks the marker %q", pictureEnd)
	want := Picture(listPackages(t))
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(before+pictureBegin+want+pictureEnd+after), 0o644))
		return
	}
	assert.Equal(t, want, got, "docs/architecture.md's dependency picture differs from go list; rerun with -update")
}

func TestPicture(t *testing.T) {
	m := Module
	pkgs := []Package{
		{ImportPath: m + "/adapters/memory", Imports: []string{"sync", m + "/ports", m + "/ecolaura"}},
		{ImportPath: m + "/ecolaura"},
		{ImportPath: m + "/examples/quickstart", Imports: []string{m + "/ecolaura/shop"}},
		{ImportPath: m + "/ports", Imports: []string{m + "/ecolaura"}},
		{ImportPath: "fmt", Standard: true},
	}
	assert.Equal(t, ""+
		"ecolaura         imports nothing of the module\n"+
		"ports            imports ecolaura\n"+
		"adapters/memory  imports ecolaura, ports\n", Picture(pkgs))
}
