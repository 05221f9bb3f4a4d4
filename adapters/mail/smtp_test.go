package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ecomail "github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/ports"
)

func TestParseURL(t *testing.T) {
	const from = "Shop <shop@example.org>"
	tests := []struct {
		name string
		url  string
		want ecomail.Config
		bad  string // the field of the ConfigError, "" when valid
	}{
		{"submission with STARTTLS", "smtp://user:pa%40ss@mail.example.org",
			ecomail.Config{Host: "mail.example.org", Port: 587, Security: ecomail.STARTTLS, Username: "user", Password: "pa@ss", From: from}, ""},
		{"explicit port", "smtp://mail.example.org:2525",
			ecomail.Config{Host: "mail.example.org", Port: 2525, Security: ecomail.STARTTLS, From: from}, ""},
		{"implicit TLS", "smtps://u:p@mail.example.org",
			ecomail.Config{Host: "mail.example.org", Port: 465, Security: ecomail.ImplicitTLS, Username: "u", Password: "p", From: from}, ""},
		{"plain relay", "smtp://localhost:25?tls=none",
			ecomail.Config{Host: "localhost", Port: 25, Security: ecomail.NoTLS, From: from}, ""},
		{"other scheme", "http://mail.example.org", ecomail.Config{}, "smtp_url"},
		{"tls=none on smtps", "smtps://mail.example.org?tls=none", ecomail.Config{}, "smtp_url"},
		{"unknown tls option", "smtp://mail.example.org?tls=maybe", ecomail.Config{}, "smtp_url"},
		{"unknown option", "smtp://mail.example.org?pool=3", ecomail.Config{}, "smtp_url"},
		{"a path", "smtp://mail.example.org/x", ecomail.Config{}, "smtp_url"},
		{"bad port", "smtp://mail.example.org:99999", ecomail.Config{}, "port"},
		{"no host", "smtp://:587", ecomail.Config{}, "host"},
		{"user without password", "smtp://user@mail.example.org", ecomail.Config{}, "username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ecomail.ParseURL(tc.url, from)
			if tc.bad == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a bad setting is a wiring mistake, not user input")
			assert.Equal(t, tc.bad, ce.Fields[0].Field)
			assert.NotContains(t, err.Error(), "pa@ss")
		})
	}
	_, err := ecomail.ParseURL("smtp://mail.example.org", "not an address")
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "from", ce.Fields[0].Field)
}

func TestConfigStringHidesThePassword(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"smtp://shop:s3cr3t-pw@mail.example.org", "smtp://shop@mail.example.org:587 (STARTTLS required)"},
		{"smtps://shop:s3cr3t-pw@mail.example.org", "smtps://shop@mail.example.org:465 (implicit TLS)"},
		{"smtp://127.0.0.1:1025?tls=none", "smtp://127.0.0.1:1025?tls=none (no TLS)"},
	} {
		c, err := ecomail.ParseURL(tc.url, "shop@example.org")
		require.NoError(t, err)
		assert.Equal(t, tc.want, c.String())
		m, err := ecomail.NewSMTPMailer(c)
		require.NoError(t, err)
		assert.Equal(t, tc.want, m.String())
		assert.NotContains(t, m.String(), "s3cr3t")
	}
}

// message is a message with both bodies and a stable ID.
func message(to string) ports.Message {
	return ports.Message{
		ID:      "password_reset.0191f5e2-7a3b-7c4d-8e5f-0123456789ab@shop.example.org",
		To:      to,
		Subject: "Réinitialisez votre mot de passe",
		Text:    "Hello Ada,\n\nopen https://shop.example.org/reset-password?token=abc_DEF-123 within 30 minutes.\n",
		HTML:    `<p>Hello Ada,</p><p><a href="https://shop.example.org/reset-password?token=abc_DEF-123">Reset</a></p>`,
	}
}

// mailpitConfig is a Config for m over plain SMTP with credentials (Mailpit
// accepts any).
func mailpitConfig(m *testenv.Mailpit) ecomail.Config {
	c, err := ecomail.ParseURL("smtp://shop:secret@"+m.SMTPAddr+"?tls=none", "Ecolaura <shop@example.org>")
	if err != nil {
		panic(err)
	}
	return c
}

func TestSMTPMailerDeliversToMailpit(t *testing.T) {
	mp := testenv.StartMailpit(t)
	clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	m, err := ecomail.NewSMTPMailer(mailpitConfig(mp), ecomail.WithClock(clock))
	require.NoError(t, err)
	msg := message("ada@example.org")
	require.NoError(t, m.Send(t.Context(), msg))

	got := mp.WaitFor(t, "ada@example.org", "mot de passe", 10*time.Second)
	assert.Equal(t, msg.ID, got.MessageID, "the stable Message-ID is kept")
	assert.Equal(t, msg.Subject, got.Subject, "a non-ASCII subject survives encoding")
	assert.Equal(t, "shop@example.org", got.From.Address)
	assert.Equal(t, "Ecolaura", got.From.Name)
	assert.Contains(t, got.Text, "reset-password?token=abc_DEF-123", "the plain-text part")
	assert.Contains(t, got.HTML, `href="https://shop.example.org/reset-password?token=abc_DEF-123"`, "the HTML part")

	// A retry of the same logical message carries the same Message-ID.
	require.NoError(t, m.Send(t.Context(), msg))
	require.Eventually(t, func() bool { return len(mp.Messages(t)) == 2 }, 10*time.Second, 20*time.Millisecond)
	for _, s := range mp.Messages(t) {
		assert.Equal(t, msg.ID, s.MessageID)
	}
}

func TestSMTPMailerPermanentAndTransientFailures(t *testing.T) {
	// Mailpit refuses recipients outside example.org with 550.
	mp := testenv.StartMailpit(t, "--smtp-allowed-recipients", `@example\.org$`)
	m, err := ecomail.NewSMTPMailer(mailpitConfig(mp))
	require.NoError(t, err)

	err = m.Send(t.Context(), message("nobody@refused.test"))
	require.Error(t, err)
	require.ErrorIs(t, err, ports.ErrPermanent, "a 5xx refusal is permanent: %v", err)

	err = m.Send(t.Context(), ports.Message{To: "two@example.org, three@example.org", Subject: "x", Text: "x"})
	require.ErrorIs(t, err, ports.ErrPermanent, "a message that can never be sent")
	require.ErrorIs(t, err, ecolaura.ErrInvalid)

	// Nothing listens on a closed port: worth retrying later.
	closed := mailpitConfig(mp)
	closed.Port = closedPort(t)
	cm, err := ecomail.NewSMTPMailer(closed, ecomail.WithClock(fixedClock{time.Now()}))
	require.NoError(t, err)
	err = cm.Send(t.Context(), message("ada@example.org"))
	require.Error(t, err)
	require.NotErrorIs(t, err, ports.ErrPermanent, "an unreachable server may come back")

	require.NoError(t, m.Send(t.Context(), message("ada@example.org")), "an allowed recipient")
}

func TestSMTPMailerTLS(t *testing.T) {
	certFile, keyFile, roots := selfSignedCert(t)
	trusting := ecomail.WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})

	t.Run("STARTTLS is required by default", func(t *testing.T) {
		plain := testenv.StartMailpit(t) // offers no STARTTLS
		c := mailpitConfig(plain)
		c.Security = ecomail.STARTTLS
		m, err := ecomail.NewSMTPMailer(c, trusting)
		require.NoError(t, err)
		err = m.Send(t.Context(), message("ada@example.org"))
		require.Error(t, err, "a server without STARTTLS is refused, not used in plain text")
		require.NotErrorIs(t, err, ports.ErrPermanent, "an operator can fix the server: retry")
		assert.Empty(t, plain.Messages(t), "nothing was sent in plain text")
	})
	t.Run("STARTTLS", func(t *testing.T) {
		mp := testenv.StartMailpit(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-starttls")
		c, err := ecomail.ParseURL("smtp://shop:secret@"+mp.SMTPAddr, "shop@example.org")
		require.NoError(t, err)
		m, err := ecomail.NewSMTPMailer(c, trusting)
		require.NoError(t, err)
		require.NoError(t, m.Send(t.Context(), message("ada@example.org")))
		mp.WaitFor(t, "ada@example.org", "mot de passe", 10*time.Second)

		untrusting, err := ecomail.NewSMTPMailer(c)
		require.NoError(t, err)
		require.Error(t, untrusting.Send(t.Context(), message("bob@example.org")), "an unknown certificate is refused")
	})
	t.Run("implicit TLS", func(t *testing.T) {
		mp := testenv.StartMailpit(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-tls")
		c, err := ecomail.ParseURL("smtps://shop:secret@"+mp.SMTPAddr, "shop@example.org")
		require.NoError(t, err)
		m, err := ecomail.NewSMTPMailer(c, trusting)
		require.NoError(t, err)
		require.NoError(t, m.Send(t.Context(), message("ada@example.org")))
		mp.WaitFor(t, "ada@example.org", "mot de passe", 10*time.Second)
	})
}

func TestSMTPMailerRejectsBadMessagesBeforeConnecting(t *testing.T) {
	c, err := ecomail.ParseURL("smtp://127.0.0.1:"+strconv.Itoa(closedPort(t))+"?tls=none", "shop@example.org")
	require.NoError(t, err)
	m, err := ecomail.NewSMTPMailer(c)
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		msg   ports.Message
		field string
	}{
		{"header injection in the subject", ports.Message{To: "a@example.org", Subject: "x\r\nBcc: evil@example.org", Text: "x"}, "subject"},
		{"header injection in the recipient", ports.Message{To: "a@example.org\r\nBcc: evil@example.org", Subject: "x", Text: "x"}, "to"},
		{"no body", ports.Message{To: "a@example.org", Subject: "x"}, "text"},
		{"message ID in brackets", ports.Message{ID: "<a@b>", To: "a@example.org", Subject: "x", Text: "x"}, "id"},
		{"subject too long", ports.Message{To: "a@example.org", Subject: strings.Repeat("x", 401), Text: "x"}, "subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Send(t.Context(), tc.msg)
			require.ErrorIs(t, err, ports.ErrPermanent)
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Fields[0].Field)
		})
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key to files
// and returns them with a pool that trusts the certificate.
func selfSignedCert(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}
