// Package archtest enforces Ecolaura's one-way dependency rule:
//
//	ecolaura (domain, stdlib only) <- ports <- ecolaura/<service> <- adapters/* <- cmd
//
// Check reads the import graph (from `go list -json`) and reports every
// import that breaks the rule, naming the package and the offending import.
// The rule is run by this package's test on the whole module.
package archtest

import (
	"fmt"
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
				if !isStd(imp) {
					bad(p, imp, "the domain package may import only the standard library")
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
