package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// EnvMailpit names the mailpit binary to run when it is not on PATH or in
// $GOPATH/bin (where `go install github.com/axllent/mailpit@latest` puts it).
const EnvMailpit = "ECOLAURA_MAILPIT"

// Mailpit is a private Mailpit (github.com/axllent/mailpit) SMTP server a
// test started on free local ports: it accepts every message (and any SMTP
// credentials) and shows them through its HTTP API.
type Mailpit struct {
	// Host is the address both servers listen on (127.0.0.1).
	Host string
	// SMTPPort is the SMTP port; SMTPAddr is Host:SMTPPort.
	SMTPPort int
	SMTPAddr string
	// APIURL is the base URL of the HTTP API (http://127.0.0.1:PORT).
	APIURL string
}

// MailpitBinary returns the path of the mailpit binary, or an error saying
// how to install it.
func MailpitBinary() (string, error) {
	if p := os.Getenv(EnvMailpit); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("mailpit is not installed: go install github.com/axllent/mailpit@v1.33.1 (or set " + EnvMailpit + ")")
}

// StartMailpit starts Mailpit for t on free local ports, with extra
// command-line flags (for example "--smtp-require-tls" with a certificate,
// or "--smtp-allowed-recipients"), and stops it when t ends. It skips t
// loudly when mailpit is not installed, or fails it when
// ECOLAURA_REQUIRE_SERVICES=1.
func StartMailpit(t testing.TB, flags ...string) *Mailpit {
	t.Helper()
	bin, err := MailpitBinary()
	if err != nil {
		Unavailable(t, "Mailpit", err)
	}
	var lastErr error
	for range 3 { // a free port may be taken between probing and binding
		smtpPort, err1 := freePort()
		httpPort, err2 := freePort()
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("mailpit: free ports: %v", err)
		}
		m := &Mailpit{Host: "127.0.0.1", SMTPPort: smtpPort}
		m.SMTPAddr = net.JoinHostPort(m.Host, strconv.Itoa(smtpPort))
		m.APIURL = "http://" + net.JoinHostPort(m.Host, strconv.Itoa(httpPort))
		args := []string{
			"--smtp", m.SMTPAddr, "--listen", net.JoinHostPort(m.Host, strconv.Itoa(httpPort)),
			"--database", filepath.Join(t.TempDir(), "mailpit.db"),
			"--smtp-auth-accept-any", "--smtp-disable-rdns", "--quiet",
		}
		if !slices.Contains(flags, "--smtp-require-starttls") && !slices.Contains(flags, "--smtp-require-tls") {
			// Credentials over plain SMTP (which Mailpit refuses to combine
			// with a TLS requirement).
			args = append(args, "--smtp-auth-allow-insecure")
		}
		args = append(args, flags...)
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			Unavailable(t, "Mailpit", fmt.Errorf("start %s: %w", bin, err))
		}
		exited := make(chan struct{}) // closed when the process has ended
		var waitErr error
		go func() {
			waitErr = cmd.Wait()
			close(exited)
		}()
		if err := m.waitReady(exited); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w (%v); output: %s", err, waitErr, out.String())
			continue
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		return m
	}
	t.Fatalf("mailpit did not start: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits until both servers answer, the process exits or 15 s
// pass.
func (m *Mailpit) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("mailpit exited")
		default:
		}
		resp, err := http.Get(m.APIURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if c, err := net.DialTimeout("tcp", m.SMTPAddr, time.Second); err == nil {
				c.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("mailpit did not become ready within 15s")
}

// MailpitAddress is a sender or recipient as Mailpit reports it.
type MailpitAddress struct {
	Name    string
	Address string
}

// MailpitMessage is a received message as Mailpit's API reports it (the
// summary of a list has no Text or HTML).
type MailpitMessage struct {
	ID        string
	MessageID string
	From      MailpitAddress
	To        []MailpitAddress
	Subject   string
	Text      string
	HTML      string
}

// Messages returns the received messages, newest first, without bodies.
func (m *Mailpit) Messages(t testing.TB) []MailpitMessage {
	t.Helper()
	var out struct{ Messages []MailpitMessage }
	m.get(t, "/api/v1/messages?limit=500", &out)
	return out.Messages
}

// Message returns one received message with its text and HTML bodies.
func (m *Mailpit) Message(t testing.TB, id string) MailpitMessage {
	t.Helper()
	var out MailpitMessage
	m.get(t, "/api/v1/message/"+url.PathEscape(id), &out)
	return out
}

// WaitFor polls (up to timeout) for a received message to to whose subject
// contains subjectPart, and returns it with its bodies.
func (m *Mailpit) WaitFor(t testing.TB, to, subjectPart string, timeout time.Duration) MailpitMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, msg := range m.Messages(t) {
			if !bytes.Contains([]byte(msg.Subject), []byte(subjectPart)) {
				continue
			}
			for _, a := range msg.To {
				if a.Address == to {
					return m.Message(t, msg.ID)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit: no message to %s with %q in its subject within %s", to, subjectPart, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (m *Mailpit) get(t testing.TB, path string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.APIURL+path, nil)
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("mailpit: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: GET %s: %d %s (%v)", path, resp.StatusCode, body, err)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("mailpit: GET %s: decode: %v", path, err)
	}
}
