package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Absolute URLs (Location headers, v1 next/previous links) never trust the
// request's Host as such: they start with the configured public URL or,
// without one, with a Host that is on the allow-list (Django's
// ALLOWED_HOSTS); a request naming another host is refused.

// defaultAllowedHosts are the hosts accepted when neither
// [Config.PublicURL] nor [Config.AllowedHosts] is set: the loopback names a
// developer's browser and curl use.
func defaultAllowedHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// validatePublicURL checks that u is an absolute http(s) URL with a host
// and at most a path.
func validatePublicURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil ||
		p.RawQuery != "" || p.Fragment != "" || p.Opaque != "" || strings.HasSuffix(u, "?") || strings.HasSuffix(u, "#") {
		return fmt.Errorf("public URL %q must look like https://host[:port][/path]", u)
	}
	if _, _, ok := splitHost(p.Host); !ok {
		return fmt.Errorf("public URL %q has an invalid host", u)
	}
	return nil
}

// normalizePublicURL returns u without a trailing slash, its scheme and host
// lowercased.
func normalizePublicURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	p.Scheme, p.Host = strings.ToLower(p.Scheme), strings.ToLower(p.Host)
	return strings.TrimRight(p.String(), "/")
}

// validateAllowedHost checks one allowed-hosts entry: a host name or IP
// address, optionally with a leading dot for "this domain and every
// subdomain".
func validateAllowedHost(h string) error {
	if h == "*" {
		return errors.New(`allowed host "*" is not allowed: list the hosts, or set the public URL`)
	}
	name := strings.TrimPrefix(h, ".")
	if name == "" {
		return fmt.Errorf("allowed host %q is empty", h)
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		name = name[1 : len(name)-1]
	}
	if ip := net.ParseIP(name); ip != nil && !strings.HasPrefix(h, ".") {
		return nil
	}
	if !validHostName(strings.ToLower(name)) {
		return fmt.Errorf("allowed host %q must be a host name or an IP address, without scheme, port or path", h)
	}
	return nil
}

// normalizeAllowedHosts lowercases the entries and strips IPv6 brackets.
func normalizeAllowedHosts(list []string) []string {
	out := make([]string, 0, len(list))
	for _, h := range list {
		h = strings.ToLower(strings.TrimSpace(h))
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		}
		out = append(out, h)
	}
	return out
}

// validHostName reports whether s (lowercased) is a DNS name: letters,
// digits, hyphens and dots, at most 253 bytes.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '.') {
			return false
		}
	}
	return true
}

// splitHost splits a Host header value into its lowercased host name (an
// IPv6 address without brackets) and port, and reports whether it is well
// formed: a DNS name or an IP address, and an optional numeric port.
func splitHost(raw string) (host, port string, ok bool) {
	raw = strings.ToLower(raw)
	if strings.HasPrefix(raw, "[") {
		end := strings.IndexByte(raw, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := raw[1:end], raw[end+1:]
		ip := net.ParseIP(host)
		if ip == nil || ip.To4() != nil {
			return "", "", false
		}
		if rest != "" {
			if port, ok = strings.CutPrefix(rest, ":"); !ok || !validPort(port) {
				return "", "", false
			}
		}
		return ip.String(), port, true
	}
	host, port, hasPort := strings.Cut(raw, ":")
	if hasPort && !validPort(port) {
		return "", "", false
	}
	if !validHostName(host) {
		return "", "", false
	}
	return host, port, true
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// hostAllowed matches a host name against the allow-list: an entry matches
// itself; an entry with a leading dot matches the domain and its subdomains.
func hostAllowed(host string, allowed []string) bool {
	for _, a := range allowed {
		if domain, ok := strings.CutPrefix(a, "."); ok {
			if host == domain || strings.HasSuffix(host, a) {
				return true
			}
			continue
		}
		if host == a {
			return true
		}
	}
	return false
}

// headerList returns every line of a header joined into one comma-separated
// list, as RFC 9110 section 5.3 defines for repeated field lines. The result
// is a copy.
func headerList(h *fasthttp.RequestHeader, name string) string {
	values := h.PeekAll(name)
	switch len(values) {
	case 0:
		return ""
	case 1:
		return string(values[0])
	}
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(v)
	}
	return b.String()
}

// lastListItem returns the right-most element of a comma-separated list:
// the one the nearest proxy added.
func lastListItem(list string) string {
	if i := strings.LastIndexByte(list, ','); i >= 0 {
		list = list[i+1:]
	}
	return strings.TrimSpace(list)
}

// scheme is the scheme the client used: https when the listener speaks TLS
// (or Config.ServeTLS says it does) or when a trusted proxy says so in
// X-Forwarded-Proto; http otherwise.
func (s *Server) scheme(c *fiber.Ctx) string {
	if s.cfg.ServeTLS || c.Context().IsTLS() || c.Locals(keyTLS) == true {
		return "https"
	}
	if s.proxies.trusted(c.Context().RemoteIP()) &&
		strings.EqualFold(lastListItem(headerList(&c.Request().Header, fiber.HeaderXForwardedProto)), "https") {
		return "https"
	}
	return "http"
}

// requestHost is the host the client asked for: the Host header, or from a
// trusted proxy the right-most X-Forwarded-Host when it sent one.
func (s *Server) requestHost(c *fiber.Ctx) string {
	if s.proxies.trusted(c.Context().RemoteIP()) {
		if fh := lastListItem(headerList(&c.Request().Header, fiber.HeaderXForwardedHost)); fh != "" {
			return fh
		}
	}
	return string(c.Request().Header.Host())
}

// operational reports whether an API path is a probe, which
// answer whatever Host they are called with (load balancers and kubelets
// call them by IP address) and write no URL.
func operational(apiPath string) bool {
	return apiPath == "/healthz" || apiPath == "/readyz"
}

// checkHost refuses a request whose host is not allowed (400), unless a
// public URL is configured without an allow-list. It remembers the origin
// (scheme and host) absolute URLs of the request start with.
func (s *Server) checkHost(c *fiber.Ctx) error {
	if s.allowedHosts == nil || operational(s.apiPath(c)) {
		return nil
	}
	host, port, ok := splitHost(s.requestHost(c))
	if !ok || !hostAllowed(host, s.allowedHosts) {
		return newHTTPError(http.StatusBadRequest, "invalid-host",
			"Invalid Host header: the host is not one this server answers for (see the allowed hosts and the public URL settings).")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	c.Locals(keyOrigin, s.scheme(c)+"://"+host)
	return nil
}

// base is what every absolute URL of the response starts with: the public
// URL, or the scheme and allowed host of the request.
func (s *Server) base(c *fiber.Ctx) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	if o, ok := c.Locals(keyOrigin).(string); ok {
		return o
	}
	// Not checked (an operational path): the first allowed host.
	host := strings.TrimPrefix(s.allowedHosts[0], ".")
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return s.scheme(c) + "://" + host
}

// mountPath is the prefix a host Fiber app mounted the API under ("" at
// the root).
func (s *Server) mountPath() string {
	return strings.TrimRight(s.app.MountPath(), "/")
}

// apiPath is the request's path relative to the API's root: without the
// prefix the API is mounted under in a host Fiber app.
func (s *Server) apiPath(c *fiber.Ctx) string {
	p := c.Path()
	if m := s.mountPath(); m != "" {
		if rest, ok := strings.CutPrefix(p, m); ok && (rest == "" || rest[0] == '/') {
			return rest
		}
	}
	return p
}

// strippedPrefix is the path prefix a net/http host stripped before handing
// the request to [Server.Handler] (http.StripPrefix), "" otherwise.
func strippedPrefix(c *fiber.Ctx) string {
	p, _ := c.Locals(keyStrippedPrefix).(string)
	return p
}

// absURL returns the absolute URL of the API path p (such as
// "/api/v2/orders/<id>"), with every prefix the API is served under.
func (s *Server) absURL(c *fiber.Ctx, p string) string {
	return s.base(c) + strippedPrefix(c) + s.mountPath() + p
}

// requestURL returns the absolute URL of the request's own path, without
// its query.
func (s *Server) requestURL(c *fiber.Ctx) string {
	return s.base(c) + strippedPrefix(c) + c.Path()
}
