package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is stamped at build time with -ldflags "-X main.version=v1.2.3"
// (the Dockerfile's VERSION argument). When it is empty the module version
// from the build information is used: the release tag for
// `go install github.com/ecolaura/ecolaura/cmd/ecolaura@v1.2.3`, a
// pseudo-version for a build from a Git checkout.
var version string

// appVersion is the version the server reports (logs, /healthz): the
// stamped version, else the module version, else "dev".
func appVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return resolveVersion(version, bi)
}

// resolveVersion picks the version from the stamp or the build information
// (bi may be nil).
func resolveVersion(stamped string, bi *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionString is what `ecolaura version` and `ecolaura --version` print:
// the version, the VCS revision (12 digits, "+modified" for a checkout with
// uncommitted changes) when the binary was built from a checkout, the Go
// version and the platform, e.g.
//
//	ecolaura v1.2.0 (revision 0123456789ab, go1.26.8 linux/amd64)
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(version, bi, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
}

func formatVersion(stamped string, bi *debug.BuildInfo, platform string) string {
	var details []string
	if bi != nil {
		var rev string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			rev = rev[:min(12, len(rev))]
			if modified {
				rev += "+modified"
			}
			details = append(details, "revision "+rev)
		}
	}
	details = append(details, platform)
	return fmt.Sprintf("ecolaura %s (%s)", resolveVersion(stamped, bi), strings.Join(details, ", "))
}
