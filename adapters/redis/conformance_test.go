package redis

import (
	"testing"

	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// TestCacheConformance runs the port's conformance suite on the shared Redis,
// with and without client-side caching, each under its own prefix whose keys
// are deleted (and checked gone) at the end.
func TestCacheConformance(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	for _, tc := range []struct {
		name string
		csc  bool
	}{
		{"ClientSideCaching", true},
		{"RoundTrips", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			porttest.Cache(t, func(t *testing.T) ports.Cache {
				return newTestCache(t, url, func(cfg *Config) {
					cfg.ClientSideCaching = tc.csc
				})
			})
		})
	}
}
