// Package archtest enforces Ecolaura's one-way dependency rule:
//
//	ecolaura (domain, stdlib only) <- ports <- ecolaura/<service> <- adapters/* <- cmd
//
// Check reads the import graph (from `go list -json`) and reports every
// import that breaks the rule, naming the package and the offending import.
// The only exception is the SDK's composition root, ecolaura/shop, which
// wires the in-process adapters. Picture renders the same graph as the
// dependency picture of docs/architecture.md. Both run in this package's
// tests on the whole module.
package archtest

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Module is the module path.
const Module = "github.com/ecolaura/ecolaura"

// Package is the part of `go list -json` output the rules need.
type Package struct {
	ImportPath string
	Standard   bool
	// Imports are the direct, non-test imports.
	Imports []string
	// Deps are all transitive non-test dependencies.
	Deps []string
}

// forbiddenInCore are infrastructure libraries the domain, ports and services
// must never depend on, even transitively.
var forbiddenInCore = []string{
	"github.com/gofiber/", "github.com/valyala/fasthttp", "github.com/uptrace/bun",
	"github.com/redis/rueidis", "github.com/lestrrat-go/jwx", "github.com/jackc/pgx",
	"github.com/riverqueue/", "github.com/prometheus/", "database/sql", "net/http",
}

// shopMayImport lists the adapters the composition root (ecolaura/shop) may wire.
// It wires the in-process defaults an embedding program needs: memory stores,
// system clock and IDs, argon2id hashing, jwt tokens, mailers and the product
// cache decorator.
var shopMayImport = map[string]bool{
	Module + "/adapters/memory":       true,
	Module + "/adapters/system":       true,
	Module + "/adapters/argon2id":     true,
	Module + "/adapters/jwt":          true,
	Module + "/adapters/mail":         true,
	Module + "/adapters/productcache": true,
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// unicodeData is the one library the domain may use beside the standard
// library: the Go project's Unicode data and algorithms the standard
// library lacks (PRECIS for emails: width mapping, NFC, derived properties).
const unicodeData = "golang.org/x/text"

func within(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

// Check returns a sorted list of rule violations, each naming the package
// and the import that breaks the rule.
func Check(pkgs []Package) []string {
	var out []string
	bad := func(p Package, imp, why string) {
		out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, imp, why))
	}
	domain := Module + "/ecolaura"
	ports := Module + "/ports"
	byPath := make(map[string]Package, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for _, p := range pkgs {
		if p.Standard || !within(p.ImportPath, Module) {
			continue
		}
		path := p.ImportPath
		for _, imp := range p.Imports {
			if within(imp, Module+"/cmd") {
				bad(p, imp, "nothing may import cmd")
			}
		}
		switch {
		case path == domain:
			for _, imp := range p.Imports {
				if !isStd(imp) && !within(imp, unicodeData) {
					bad(p, imp, "the domain package may import only the standard library (and "+unicodeData+")")
				}
			}
		case path == ports:
			for _, imp := range p.Imports {
				if !isStd(imp) && imp != domain {
					bad(p, imp, "ports may import only the domain package and the standard library")
				}
			}
		case within(path, ports):
			for _, imp := range p.Imports {
				if within(imp, Module) && !within(imp, ports) && imp != domain {
					bad(p, imp, "the ports' test kits may import only the domain, ports and libraries")
				}
			}
		case within(path, domain):
			for _, imp := range p.Imports {
				if within(imp, Module+"/adapters") && !(path == domain+"/shop" && shopMayImport[imp]) {
					bad(p, imp, "services must not import adapters (only ecolaura/shop may wire the in-process adapters)")
				}
				if within(imp, Module+"/internal") {
					bad(p, imp, "services must not import internal packages")
				}
			}
		case within(path, Module+"/adapters"):
			name, _, _ := strings.Cut(strings.TrimPrefix(path, Module+"/adapters/"), "/")
			for _, imp := range p.Imports {
				if within(imp, Module+"/internal") && slices.ContainsFunc(byPath[imp].Deps, func(d string) bool { return within(d, Module+"/adapters") }) {
					bad(p, imp, "adapters may share only internal libraries that depend on no adapter")
				}
				if !within(imp, Module+"/adapters") {
					continue
				}
				other, _, _ := strings.Cut(strings.TrimPrefix(imp, Module+"/adapters/"), "/")
				if other != name {
					bad(p, imp, "adapters must not import each other")
				}
			}
		}
		if path == domain || path == ports || (within(path, domain) && path != domain+"/shop") {
			for _, dep := range p.Deps {
				for _, f := range forbiddenInCore {
					if strings.HasPrefix(dep, f) || dep == strings.TrimSuffix(f, "/") {
						bad(p, dep, "the core must not depend on infrastructure libraries (directly or transitively)")
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// layer orders the packages of the picture: the domain, ports and their
// test kits, services, the composition root, internal libraries,
// migrations, adapters, programs.
func layer(rel string) int {
	switch {
	case rel == "ecolaura":
		return 0
	case rel == "ports":
		return 1
	case strings.HasPrefix(rel, "ports/"):
		return 2
	case rel == "ecolaura/shop":
		return 4
	case strings.HasPrefix(rel, "ecolaura/"):
		return 3
	case strings.HasPrefix(rel, "internal/"):
		return 5
	case rel == "migrations":
		return 6
	case strings.HasPrefix(rel, "adapters/"):
		return 7
	}
	return 8
}

// Picture renders the module's import graph as the dependency picture of
// docs/architecture.md: one line per package (the example and benchmark
// programs under examples/ and scripts/ left out), in layer order, with the
// packages of the module it imports directly (paths relative to the
// module).
func Picture(pkgs []Package) string {
	type row struct {
		pkg  string
		deps []string
	}
	var rows []row
	for _, p := range pkgs {
		if p.Standard || !within(p.ImportPath, Module) || p.ImportPath == Module {
			continue
		}
		rel := strings.TrimPrefix(p.ImportPath, Module+"/")
		if within(rel, "examples") || within(rel, "scripts") {
			continue
		}
		var deps []string
		for _, imp := range p.Imports {
			if within(imp, Module) {
				deps = append(deps, strings.TrimPrefix(imp, Module+"/"))
			}
		}
		sort.Strings(deps)
		rows = append(rows, row{rel, deps})
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(layer(a.pkg), layer(b.pkg)), strings.Compare(a.pkg, b.pkg))
	})
	width := 0
	for _, r := range rows {
		width = max(width, len(r.pkg))
	}
	var b strings.Builder
	for _, r := range rows {
		deps := "nothing of the module"
		if len(r.deps) > 0 {
			deps = strings.Join(r.deps, ", ")
		}
		fmt.Fprintf(&b, "%-*s  imports %s\n", width, r.pkg, deps)
	}
	return b.String()
}
