package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// EnvStripeMock names the stripe-mock binary to run when it is not on PATH
// or in $GOPATH/bin (where `go install github.com/stripe/stripe-mock@latest`
// puts it).
const EnvStripeMock = "ECOLAURA_STRIPE_MOCK"

// StripeMockBinary returns the path of the stripe-mock binary, or an error
// saying how to install it.
func StripeMockBinary() (string, error) {
	if p := os.Getenv(EnvStripeMock); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "stripe-mock")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("stripe-mock is not installed: go install github.com/stripe/stripe-mock@latest (or set " + EnvStripeMock + ")")
}

// StartStripeMock starts stripe-mock (the official mock of the Stripe API)
// for t on a free local port and returns its base URL
// (http://127.0.0.1:PORT); it stops when t ends. It skips t loudly when
// stripe-mock is not installed, or fails it when
// ECOLAURA_REQUIRE_SERVICES=1.
func StartStripeMock(t testing.TB) string {
	t.Helper()
	bin, err := StripeMockBinary()
	if err != nil {
		Unavailable(t, "stripe-mock", err)
	}
	var lastErr error
	for range 3 { // a free port may be taken between probing and binding
		port, err := freePort()
		if err != nil {
			t.Fatalf("stripe-mock: free port: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cmd := exec.Command(bin, "-http-addr", addr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			Unavailable(t, "stripe-mock", fmt.Errorf("start %s: %w", bin, err))
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		if err := waitListening(addr, exited, 30*time.Second); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w; output: %s", err, out.String())
			continue
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		return "http://" + addr
	}
	t.Fatalf("stripe-mock did not start: %v", lastErr)
	return ""
}

// waitListening waits until addr accepts TCP connections, the process
// exits or timeout passes.
func waitListening(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("stripe-mock exited")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("stripe-mock not listening on %s after %s", addr, timeout)
}
