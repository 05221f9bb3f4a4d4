package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const healthcheckUsage = `Usage: ecolaura healthcheck [--ops] [--url URL] [--timeout DURATION]

Asks the local server's readiness endpoint (GET /readyz) and exits 0 when
it answers 200, 1 otherwise (not listening, draining, database down): the
container image's HEALTHCHECK, so the image needs no curl. The default URL
is derived from ECOLAURA_ADDR: http://127.0.0.1:8080/readyz for ":8080".
With --ops it asks the operations listener instead (ECOLAURA_OPS_ADDR,
default 127.0.0.1:9090): the probe of "ecolaura worker", which has no API.

Flags:
`

// healthcheckCmd implements `ecolaura healthcheck`.
func healthcheckCmd(ctx context.Context, args []string, env getenv, stdout, stderr io.Writer) int {
	flags := newFlagSet("healthcheck", healthcheckUsage, stderr)
	target := flags.String("url", "", "URL to ask (default: /readyz on the address of ECOLAURA_ADDR)")
	timeout := flags.Duration("timeout", 3*time.Second, "give up after this long")
	ops := flags.Bool("ops", false, "ask the operations listener (ECOLAURA_OPS_ADDR) instead of the API (ECOLAURA_ADDR)")
	if err := flags.Parse(args); err != nil {
		return helpCode(err)
	}
	if flags.NArg() > 0 || *timeout <= 0 {
		fmt.Fprint(stderr, "ecolaura healthcheck: no arguments expected and --timeout must be positive\n\n")
		flags.Usage()
		return 2
	}
	if *target == "" {
		name, addr := "ECOLAURA_ADDR", or(env("ECOLAURA_ADDR"), ":8080")
		if *ops {
			name, addr = "ECOLAURA_OPS_ADDR", or(env("ECOLAURA_OPS_ADDR"), defaultOpsAddr)
			if strings.EqualFold(strings.TrimSpace(addr), "off") {
				fmt.Fprint(stderr, "ecolaura healthcheck: ECOLAURA_OPS_ADDR is off: the server runs no operations listener to ask; probe the API without --ops, or give the listener an address\n")
				return 2
			}
		}
		u, err := readinessURL(addr)
		if err != nil {
			fmt.Fprintf(stderr, "ecolaura healthcheck: %s: %v\n", name, err)
			return 2
		}
		*target = u
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura healthcheck: %v\n", err)
		return 2
	}
	// No proxy from the environment: the server is local.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	line := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "unhealthy: %s answered %d %s\n", *target, resp.StatusCode, line)
		return 1
	}
	fmt.Fprintf(stdout, "healthy: %s\n", line)
	return 0
}

// readinessURL turns a listen address into the URL of its readiness
// endpoint: an empty or unspecified host (":8080", "0.0.0.0:8080",
// "[::]:8080") is reached on the loopback interface.
func readinessURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("%q has no fixed port", addr)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.Equal(net.IPv4zero)):
		host = "127.0.0.1"
	case ip != nil && ip.Equal(net.IPv6unspecified):
		host = "::1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/readyz"}).String(), nil
}
