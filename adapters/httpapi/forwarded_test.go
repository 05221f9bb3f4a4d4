package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
)

// clientIPs returns the client_ip of every access-log line with the
// request id, in order.
func clientIPOf(t *testing.T, logs, requestID string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"msg":"request"`) || !strings.Contains(line, `"request_id":"`+requestID+`"`) {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		ip, _ := m["client_ip"].(string)
		return ip
	}
	t.Fatalf("no access-log line for request %s", requestID)
	return ""
}

// TestForwardedForJoinsEveryLine is issue 10 item 9: behind a trusted
// proxy, a request with two X-Forwarded-For lines (one written by the
// client, one appended by the proxy) was attributed to the client-written
// address. RFC 9110 section 5.3: the lines form one list, in order.
func TestForwardedForJoinsEveryLine(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) {
		c.TrustedProxies = []string{"0.0.0.0", "10.0.0.0/8"} // app.Test's peer and an inner proxy tier
	}))
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"one line", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client line then proxy line", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"client list then proxy line", []string{"6.6.6.6, 7.7.7.7", "198.51.100.7"}, "198.51.100.7"},
		{"through two trusted proxies", []string{"6.6.6.6", "198.51.100.7, 10.1.2.3", "10.4.5.6"}, "198.51.100.7"},
		{"entries with ports", []string{"6.6.6.6", "198.51.100.7:4711"}, "198.51.100.7"},
		{"an IPv6 entry", []string{"6.6.6.6", "[2001:db8::7]:443"}, "2001:db8::7"},
		{"garbage on the right stops the walk", []string{"6.6.6.6", "unknown"}, "0.0.0.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hr := httptest.NewRequest(http.MethodGet, "/api/v2/categories", nil)
			for _, l := range tc.lines {
				hr.Header.Add("X-Forwarded-For", l)
			}
			resp, err := h.srv.App().Test(hr, 10_000)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tc.want, clientIPOf(t, h.logs.String(), resp.Header.Get("X-Request-Id")))
		})
	}
}

// TestForwardedForLinesCannotDodgeTheLimit: over a real socket, with the
// proxy appending its own line, the client's own X-Forwarded-For line does
// not buy it a fresh per-IP budget.
func TestForwardedForLinesCannotDodgeTheLimit(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.AuthRateLimit = httpapi.RateLimit{Rate: 1, Burst: 1, Period: time.Hour}
	}))
	base := h.listen()
	send := func(clientLine string) int {
		body := `{"refresh_token":"nope"}`
		resps := keepAlive(t, base, "POST /api/v2/auth/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
			"X-Forwarded-For: "+clientLine+"\r\nX-Forwarded-For: 203.0.113.9\r\n"+
			"Content-Length: "+itoa(len(body))+"\r\n\r\n"+body)
		return resps[0].StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, send("6.6.6.1"))
	assert.Equal(t, http.StatusTooManyRequests, send("6.6.6.2"), "203.0.113.9 has spent its budget, whatever it writes first")
	assert.Equal(t, http.StatusTooManyRequests, send("6.6.6.3, 6.6.6.4"))
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestForwardedProtoAndHostTakeTheProxysLine: the scheme and host a trusted
// proxy reports are the right-most of every line, not a line the client
// wrote before the proxy's.
func TestForwardedProtoAndHostTakeTheProxysLine(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) {
		c.TrustedProxies = []string{"0.0.0.0"}
		c.AllowedHosts = []string{"shop.example.org", "evil.example"}
	}))
	h.product("Soap", "home", 350, 1, nil)
	h.product("Brush", "home", 350, 1, nil)
	hr := httptest.NewRequest(http.MethodGet, "/api/v1/products/?page_size=1", nil)
	hr.Host = "backend"
	hr.Header.Add("X-Forwarded-Proto", "https")
	hr.Header.Add("X-Forwarded-Proto", "http")
	hr.Header.Add("X-Forwarded-Host", "evil.example")
	hr.Header.Add("X-Forwarded-Host", "shop.example.org")
	resp, err := h.srv.App().Test(hr, 10_000)
	require.NoError(t, err)
	defer resp.Body.Close()
	var page struct {
		Next string `json:"next"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	assert.Equal(t, "http://shop.example.org/api/v1/products/?page=2&page_size=1", page.Next)
	assert.Empty(t, resp.Header.Get("Strict-Transport-Security"), "the client's own https line does not count")
}
