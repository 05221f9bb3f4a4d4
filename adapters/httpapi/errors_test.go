package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestErrorTables(t *testing.T) {
	stock := &ecolaura.InsufficientStockError{ProductID: "p1", Name: "Bamboo brush", Requested: 3, Available: 1}
	tests := []struct {
		name     string
		err      error
		status   int
		v2Type   string
		v1Detail string // "" when the v1 body is not {"detail"}
	}{
		{"not found", ecolaura.ErrNotFound, http.StatusNotFound, "not-found", "Not found."},
		{"wrapped not found", fmt.Errorf("load product 42: %w", fmt.Errorf("store: %w", ecolaura.ErrNotFound)), http.StatusNotFound, "not-found", "Not found."},
		{"validation", ecolaura.Invalid("price", "must not be negative"), http.StatusBadRequest, "invalid", ""},
		{"bare invalid", ecolaura.ErrInvalid, http.StatusBadRequest, "invalid", "Invalid input."},
		{"conflict", ecolaura.ErrConflict, http.StatusConflict, "conflict", "The resource was changed or is being changed by another request; retry."},
		{"insufficient stock", fmt.Errorf("checkout: %w", stock), http.StatusConflict, "insufficient-stock", `Insufficient stock for product "Bamboo brush": requested 3, available 1.`},
		{"unauthenticated", ecolaura.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "Authentication credentials were not provided."},
		{"forbidden", fmt.Errorf("staff role required: %w", ecolaura.ErrForbidden), http.StatusForbidden, "forbidden", "You do not have permission to perform this action."},
		{"invalid transition", ecolaura.ErrInvalidTransition, http.StatusConflict, "invalid-transition", "The order cannot change to that status."},
		{"idempotency mismatch", ecolaura.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "idempotency-mismatch", "The idempotency key was already used with a different request."},
		{"unavailable", fmt.Errorf("ping: %w", ecolaura.ErrUnavailable), http.StatusServiceUnavailable, "unavailable", "Service temporarily unavailable, try again later."},
		{"unknown", errors.New("pq: password authentication failed for user admin"), http.StatusInternalServerError, "internal", "A server error occurred."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v1 := v1Response(tc.err)
			assert.Equal(t, tc.status, v1.status)
			assert.Equal(t, tc.status == http.StatusInternalServerError, v1.internal)
			if tc.v1Detail != "" {
				switch b := v1.body.(type) {
				case map[string]string:
					assert.Equal(t, tc.v1Detail, b["detail"])
				case map[string]any:
					assert.Equal(t, tc.v1Detail, b["detail"])
				default:
					t.Fatalf("unexpected v1 body %T", v1.body)
				}
			}
			v2 := v2Response(tc.err, "/api/v2/x", "rid")
			assert.Equal(t, tc.status, v2.status)
			assert.Equal(t, "application/problem+json", v2.contentType)
			p, ok := v2.body.(Problem)
			require.True(t, ok)
			assert.Equal(t, ProblemTypePrefix+tc.v2Type, p.Type)
			assert.Equal(t, tc.status, p.Status)
			assert.NotContains(t, p.Detail, "password", "an internal error must not leak")
		})
	}
}

func TestErrorTablesCoverEveryDomainError(t *testing.T) {
	domain := []error{ecolaura.ErrNotFound, ecolaura.ErrInvalid, ecolaura.ErrConflict, ecolaura.ErrInsufficientStock,
		ecolaura.ErrUnauthenticated, ecolaura.ErrForbidden, ecolaura.ErrInvalidTransition, ecolaura.ErrIdempotencyMismatch, ecolaura.ErrUnavailable}
	for _, e := range domain {
		assert.False(t, v1Response(e).internal, "v1 table misses %v", e)
		assert.False(t, v2Response(e, "", "").internal, "v2 table misses %v", e)
	}
	assert.Len(t, v1Errors, len(domain))
	assert.Len(t, v2Errors, len(domain))
}

func TestV1ValidationShape(t *testing.T) {
	var v ecolaura.Validator
	v.Add("price", "must not be negative")
	v.Add("price", "must have at most 2 decimal places")
	v.Add("", "object-level problem")
	v.Add("sustainability_metric.carbon_footprint", "must not be negative")
	v.Add("items[1].quantity", "too many")
	v.Add("items[1].product", "unknown")
	v.Add("items[3]", "duplicate")
	v.Add("weird[x]", "kept flat")
	r := v1Response(fmt.Errorf("create: %w", v.Err()))
	assert.Equal(t, map[string]any{
		"price":                 []string{"must not be negative", "must have at most 2 decimal places"},
		"non_field_errors":      []string{"object-level problem"},
		"sustainability_metric": map[string]any{"carbon_footprint": []string{"must not be negative"}},
		"items": []any{map[string]any{}, map[string]any{"quantity": []string{"too many"}, "product": []string{"unknown"}},
			map[string]any{}, map[string]any{"non_field_errors": []string{"duplicate"}}},
		"weird[x]": []string{"kept flat"},
	}, r.body)
	p := v2Response(v.Err(), "/api/v2/products", "").body.(Problem)
	assert.Len(t, p.Errors, 8, "v2 keeps the flat list")
}

func TestKgNumber(t *testing.T) {
	for g, want := range map[ecolaura.CO2e]string{0: "0", 1: "0.001", 1500: "1.5", 12345: "12.345", 1000: "1", -250: "-0.25"} {
		assert.Equal(t, want, string(kgNumber(g)), "grams %d", g)
	}
}

func TestClientIP(t *testing.T) {
	ps, err := parseTrustedProxies([]string{"10.0.0.0/8", "192.168.1.1"})
	require.NoError(t, err)
	tests := []struct {
		name, peer, xff, want string
	}{
		{"direct client ignores header", "203.0.113.9", "1.2.3.4", "203.0.113.9"},
		{"trusted proxy", "10.1.2.3", "198.51.100.7", "198.51.100.7"},
		{"spoofed left part ignored", "10.1.2.3", "6.6.6.6, 198.51.100.7", "198.51.100.7"},
		{"chain of proxies", "192.168.1.1", "198.51.100.7, 10.0.0.5", "198.51.100.7"},
		{"garbage header", "10.1.2.3", "not-an-ip", "10.1.2.3"},
		{"no header", "10.1.2.3", "", "10.1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ps.clientIP(parseIP(tc.peer), tc.xff))
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"wildcard origin", func(c *Config) { c.CORSOrigins = []string{"*"} }, "not allowed"},
		{"origin with path", func(c *Config) { c.CORSOrigins = []string{"https://x.org/app"} }, "must look like"},
		{"bad proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }, "trusted proxy"},
		{"zero body limit", func(c *Config) { c.BodyLimit = 0 }, "body limit"},
		{"zero rate", func(c *Config) { c.AuthRateLimit.Rate = 0 }, "auth rate limit"},
		{"zero rate but disabled", func(c *Config) { c.AuthRateLimit.Rate = 0; c.DisableRateLimits = true }, ""},
		{"negative timeout", func(c *Config) { c.ReadTimeout = -1 }, "read timeout"},
		{"currency", func(c *Config) { c.Currency = "XXX" }, "currency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func parseIP(s string) net.IP { return net.ParseIP(s) }
