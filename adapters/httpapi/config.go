package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// Default limits and timeouts of [Config].
const (
	DefaultBodyLimit      = 1 << 20 // 1 MiB
	DefaultReadTimeout    = 10 * time.Second
	DefaultWriteTimeout   = 15 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultHandlerTimeout = 10 * time.Second
	DefaultPageSize       = 20
	MaxPageSize           = 100
	// DeepPageOffset is the offset from which a v1 page counts as an
	// expensive read (see Config.ExpensiveReadRateLimit).
	DeepPageOffset = 1000
)

// Config configures the HTTP API. Start from [DefaultConfig] and override.
type Config struct {
	// CORSOrigins is the allow-list of origins ("https://shop.example.org")
	// that browsers may call the API from. Empty allows no cross-origin calls.
	CORSOrigins []string
	// TrustedProxies are IP addresses or CIDR ranges of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto headers are believed. Requests from
	// anywhere else are taken at face value.
	TrustedProxies []string
	// PublicURL is the absolute URL clients reach the API at, such as
	// "https://shop.example.org" (or "https://example.org/shop" when a
	// proxy serves it under a path it strips). Every absolute URL the API
	// writes (Location headers, v1 next/previous links) starts with it,
	// whatever Host a request names. Without it, see AllowedHosts.
	PublicURL string
	// AllowedHosts are the host names a request may name in Host (or, from
	// a trusted proxy, X-Forwarded-Host), as Django's ALLOWED_HOSTS:
	// "shop.example.org" matches that host on any port, ".example.org" the
	// domain and every subdomain. A request naming another host is refused
	// with 400 (except /healthz and /readyz, which write no URL),
	// and absolute URLs start with the allowed host the request named.
	// Empty means: no check when PublicURL is set; otherwise localhost,
	// 127.0.0.1 and ::1 only.
	AllowedHosts []string
	// BodyLimit is the largest accepted request body in bytes (413 above it).
	BodyLimit int
	// ReadTimeout, WriteTimeout and IdleTimeout bound the connection phases.
	// ReadTimeout also bounds how long a connection whose request was
	// refused before it was read is drained before closing (see
	// [NewListener]).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// HandlerTimeout bounds the context of every request's service calls.
	HandlerTimeout time.Duration
	// AuthRateLimit is the per-client-IP ceiling of every auth endpoint
	// (token, refresh, register, logout), generous enough for an office
	// behind one NAT or a test suite; brute force is stopped by the
	// sign-in failure limits.
	AuthRateLimit RateLimit
	// SignInFailuresPerAccount limits failed sign-ins per account (the
	// email as given, case-insensitive, whether or not it exists), from any
	// number of IPs, as OWASP's Authentication Cheat Sheet describes:
	// once spent, sign-ins for that email from clients that failed for it
	// answer 429 with Retry-After, even with the right password; a client
	// that did not fail for it has its password checked from a second
	// budget of the same size (a wrong one answers 429 too), so a trickle
	// of guesses does not lock the owner out. Successful sign-ins do not
	// count.
	SignInFailuresPerAccount RateLimit
	// SignInFailuresPerIP limits failed sign-ins per client IP, across
	// accounts (password spraying). Successful sign-ins do not count.
	SignInFailuresPerIP RateLimit
	// PasswordResetsPerAccount limits password-reset requests per email
	// (as given, whether or not it has an account) and
	// PasswordResetsPerIP per client IP, so the endpoint cannot flood a
	// mailbox or probe many addresses.
	PasswordResetsPerAccount RateLimit
	PasswordResetsPerIP      RateLimit
	// AccountMailsPerAddress limits the other links a signed-in user can
	// have mailed: email-change confirmations per new address (known or
	// not) and verification links per account, so that these endpoints
	// cannot flood a mailbox either.
	AccountMailsPerAddress RateLimit
	// TokenFailuresPerIP limits mailed tokens (password reset, email
	// verification) presented per client IP that turn out invalid:
	// guessing is hopeless (256 bits), and this keeps it so.
	TokenFailuresPerIP RateLimit
	// WriteRateLimit limits writes (POST, PUT, PATCH, DELETE) per signed-in user.
	WriteRateLimit RateLimit
	// ExpensiveReadRateLimit limits, per client IP, the reads whose cost
	// grows with the catalog: searches (v2 q) and v1 pages past the first
	// DeepPageOffset products (page=last included), whose OFFSET and count
	// read everything before them.
	ExpensiveReadRateLimit RateLimit
	// DisableRateLimits turns every limit off (for load tests).
	DisableRateLimits bool
	// Currency is the shop's currency, used to parse v1 decimal prices.
	Currency ecolaura.Currency
	// ServeTLS tells the security headers that the listener itself speaks TLS
	// (so HSTS is sent on every response).
	ServeTLS bool
}

// DefaultConfig returns the production defaults: 1 MiB bodies, 10 s reads,
// EUR, absolute URLs only for localhost until PublicURL or AllowedHosts is
// set, and these rate limits:
//   - auth endpoints: 120 requests from one IP at once, then 120 a minute;
//   - failed sign-ins per account: 5, then one more every 15 minutes (the
//     6th wrong password within 15 minutes is refused);
//   - failed sign-ins per IP: 20, then 20 more every 15 minutes;
//   - writes per user: 20 at once, then 60 a minute;
//   - expensive reads (searches, deep v1 pages) per IP: 20 at once, then
//     60 a minute.
func DefaultConfig() Config {
	return Config{
		BodyLimit:                DefaultBodyLimit,
		ReadTimeout:              DefaultReadTimeout,
		WriteTimeout:             DefaultWriteTimeout,
		IdleTimeout:              DefaultIdleTimeout,
		HandlerTimeout:           DefaultHandlerTimeout,
		AuthRateLimit:            RateLimit{Rate: 120, Burst: 120, Period: time.Minute},
		SignInFailuresPerAccount: RateLimit{Rate: 1, Burst: 5, Period: 15 * time.Minute},
		SignInFailuresPerIP:      RateLimit{Rate: 20, Burst: 20, Period: 15 * time.Minute},
		PasswordResetsPerAccount: RateLimit{Rate: 3, Burst: 3, Period: time.Hour},
		PasswordResetsPerIP:      RateLimit{Rate: 20, Burst: 20, Period: time.Hour},
		AccountMailsPerAddress:   RateLimit{Rate: 3, Burst: 3, Period: time.Hour},
		TokenFailuresPerIP:       RateLimit{Rate: 10, Burst: 10, Period: 15 * time.Minute},
		WriteRateLimit:           RateLimit{Rate: 60, Burst: 20, Period: time.Minute},
		ExpensiveReadRateLimit:   RateLimit{Rate: 60, Burst: 20, Period: time.Minute},
		Currency:                 ecolaura.DefaultCurrency,
	}
}

// Validate reports every problem of the configuration in one error.
func (c Config) Validate() error {
	var errs []error
	for _, o := range c.CORSOrigins {
		if err := validateOrigin(o); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := parseTrustedProxies(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	if c.PublicURL != "" {
		if err := validatePublicURL(c.PublicURL); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range c.AllowedHosts {
		if err := validateAllowedHost(h); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BodyLimit <= 0 {
		errs = append(errs, fmt.Errorf("body limit must be positive, got %d", c.BodyLimit))
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"read timeout", c.ReadTimeout}, {"write timeout", c.WriteTimeout}, {"idle timeout", c.IdleTimeout}, {"handler timeout", c.HandlerTimeout}} {
		if t.d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", t.name, t.d))
		}
	}
	if !c.DisableRateLimits {
		for _, l := range []struct {
			name string
			l    RateLimit
		}{
			{"auth rate limit", c.AuthRateLimit}, {"write rate limit", c.WriteRateLimit},
			{"sign-in failures per account", c.SignInFailuresPerAccount}, {"sign-in failures per IP", c.SignInFailuresPerIP},
			{"expensive read rate limit", c.ExpensiveReadRateLimit},
			{"password resets per account", c.PasswordResetsPerAccount}, {"password resets per IP", c.PasswordResetsPerIP},
			{"token failures per IP", c.TokenFailuresPerIP}, {"account mails per address", c.AccountMailsPerAddress},
		} {
			if l.l.Rate <= 0 || l.l.Burst <= 0 || l.l.Period <= 0 {
				errs = append(errs, fmt.Errorf("%s needs a positive rate, burst and period, got %d/%s burst %d", l.name, l.l.Rate, l.l.Period, l.l.Burst))
			}
		}
	}
	if !c.Currency.Valid() {
		errs = append(errs, fmt.Errorf("unsupported currency %q", c.Currency))
	}
	return errors.Join(errs...)
}

func validateOrigin(o string) error {
	if o == "*" {
		return errors.New(`CORS origin "*" is not allowed: list the origins`)
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("CORS origin %q must look like https://host[:port]", o)
	}
	return nil
}

// proxySet is a parsed list of trusted proxies.
type proxySet struct {
	nets []*net.IPNet
}

func parseTrustedProxies(list []string) (proxySet, error) {
	var ps proxySet
	var errs []error
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", s))
				continue
			}
			ps.nets = append(ps.nets, n)
			continue
		}
		ip := net.ParseIP(s)
		if ip == nil {
			errs = append(errs, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", s))
			continue
		}
		bits := 128
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		ps.nets = append(ps.nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	return ps, errors.Join(errs...)
}

func (ps proxySet) trusted(ip net.IP) bool {
	if ip == nil {
		return false
	}
	for _, n := range ps.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP returns the address of the client: the peer itself, or, when the
// peer is a trusted proxy, the right-most address of X-Forwarded-For that is
// not a trusted proxy (the left part of the header is client-controlled).
// xff is every X-Forwarded-For line joined by commas (RFC 9110 section 5.3):
// a client may send its own line, which the proxy keeps before the one it
// adds. Walking stops at an entry that is not an address; an address with a
// port ("192.0.2.1:4711", "[2001:db8::1]:443") counts as the address.
func (ps proxySet) clientIP(peer net.IP, xff string) string {
	if !ps.trusted(peer) || xff == "" {
		return peer.String()
	}
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		ip := parseForwardedIP(parts[i])
		if ip == nil {
			break
		}
		if !ps.trusted(ip) || i == 0 {
			return ip.String()
		}
	}
	return peer.String()
}

// parseForwardedIP parses one X-Forwarded-For entry.
func parseForwardedIP(s string) net.IP {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		return net.ParseIP(host)
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return net.ParseIP(s[1 : len(s)-1])
	}
	return nil
}
