package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ecomail "github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// session is what the test SMTP server saw in one conversation.
type session struct {
	Helo     string
	TLS      bool
	AuthUser string
	AuthPass string
	From     string
	Rcpts    []string
	Data     []byte
}

// smtpServer is a tiny SMTP server for tests: EHLO/HELO, optional STARTTLS,
// AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	tls      *tls.Config // nil: no STARTTLS offered
	wantUser string
	wantPass string

	mu       sync.Mutex
	sessions []session
	wg       sync.WaitGroup
}

func startSMTPServer(t *testing.T, tlsCfg *tls.Config, user, pass string) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpServer{t: t, ln: ln, tls: tlsCfg, wantUser: user, wantPass: pass}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) Sessions() []session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]session(nil), s.sessions...)
}

func (s *smtpServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			s.handle(conn)
		}()
	}
}

func (s *smtpServer) handle(conn net.Conn) {
	var sess session
	tp := textproto.NewConn(conn)
	reply := func(line string) { _ = tp.PrintfLine("%s", line) }
	reply("220 test.local ESMTP ready")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			sess.Helo = arg
			lines := []string{"250-test.local greets " + arg, "250-8BITMIME"}
			if s.tls != nil && !sess.TLS {
				lines = append(lines, "250-STARTTLS")
			}
			if s.wantUser != "" {
				lines = append(lines, "250-AUTH PLAIN")
			}
			lines = append(lines, "250 SIZE 10485760")
			for _, l := range lines {
				reply(l)
			}
		case "HELO":
			sess.Helo = arg
			reply("250 test.local")
		case "STARTTLS":
			if s.tls == nil {
				reply("502 5.5.1 not supported")
				continue
			}
			reply("220 2.0.0 ready to start TLS")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn = tc
			tp = textproto.NewConn(tc)
			sess = session{TLS: true}
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				reply("504 5.5.4 mechanism not supported")
				continue
			}
			if initial == "" {
				reply("334 ")
				if initial, err = tp.ReadLine(); err != nil {
					return
				}
			}
			dec, err := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(dec), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != s.wantUser || parts[2] != s.wantPass {
				reply("535 5.7.8 authentication failed")
				continue
			}
			sess.AuthUser, sess.AuthPass = parts[1], parts[2]
			reply("235 2.7.0 authenticated")
		case "MAIL":
			if s.wantUser != "" && sess.AuthUser == "" {
				reply("530 5.7.0 authentication required")
				continue
			}
			sess.From = extractPath(arg, "FROM:")
			reply("250 2.1.0 ok")
		case "RCPT":
			sess.Rcpts = append(sess.Rcpts, extractPath(arg, "TO:"))
			reply("250 2.1.5 ok")
		case "DATA":
			reply("354 end data with <CR><LF>.<CR><LF>")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			sess.Data = data
			s.mu.Lock()
			s.sessions = append(s.sessions, sess)
			s.mu.Unlock()
			reply("250 2.0.0 queued")
		case "RSET":
			sess = session{TLS: sess.TLS, Helo: sess.Helo, AuthUser: sess.AuthUser, AuthPass: sess.AuthPass}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("500 5.5.2 unknown command")
		}
	}
}

func extractPath(arg, prefix string) string {
	arg = strings.TrimSpace(arg)
	if len(arg) >= len(prefix) && strings.EqualFold(arg[:len(prefix)], prefix) {
		arg = arg[len(prefix):]
	}
	path, _, _ := strings.Cut(strings.TrimSpace(arg), " ")
	return strings.Trim(path, "<>")
}

// selfSignedTLS returns a server config with a fresh certificate for
// 127.0.0.1 and a client pool trusting it.
func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// parsedMessage is a received message taken apart.
type parsedMessage struct {
	Header mail.Header
	Parts  map[string]string // media type -> decoded body
}

func parseReceived(t *testing.T, raw []byte) parsedMessage {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	require.NoError(t, err)
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := map[string]string{}
	var order []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		mt, mp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		assert.Equal(t, "utf-8", mp["charset"])
		body, err := io.ReadAll(p) // multipart decodes quoted-printable transparently
		require.NoError(t, err)
		parts[mt] = string(body)
		order = append(order, mt)
	}
	require.Equal(t, []string{"text/plain", "text/html"}, order, "text first, HTML last (the preferred alternative)")
	return parsedMessage{Header: msg.Header, Parts: parts}
}

func TestSMTPMailerConversation(t *testing.T) {
	serverTLS, pool := selfSignedTLS(t)
	date := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	longLine := strings.Repeat("Bamboo toothbrush ", 10) // forces quoted-printable soft breaks
	msg := ports.Message{
		To:      "Zoë Customer <zoe@example.org>",
		Subject: "Your Ecolaura order is confirmed — thank you 🌱",
		Text:    "Hello Zoë,\n\n" + longLine + "\n.\nA line with only a dot above.\nTotal: 19.99 EUR\n",
		HTML:    "<p>Hello Zo&euml;,</p><p>" + longLine + "</p><p>Total: <b>19.99 EUR</b></p>",
	}

	tests := []struct {
		name     string
		tls      bool
		user     string
		pass     string
		wantTLS  bool
		wantAuth bool
	}{
		{name: "plain without auth", tls: false},
		{name: "auth plain on localhost without TLS", user: "shop", pass: "s3cret pass", wantAuth: true},
		{name: "starttls offered and used, then auth", tls: true, user: "shop", pass: "s3cret", wantTLS: true, wantAuth: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var srvTLS *tls.Config
			if tc.tls {
				srvTLS = serverTLS
			}
			srv := startSMTPServer(t, srvTLS, tc.user, tc.pass)
			m, err := ecomail.NewSMTPMailer(ecomail.Config{
				Host: "127.0.0.1", Port: srv.port(), Username: tc.user, Password: tc.pass,
				From: "Écolaura Shop <shop@ecolaura.test>", HelloName: "client.test",
			}, ecomail.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), ecomail.WithClock(fixedClock{date}))
			require.NoError(t, err)

			require.NoError(t, m.Send(context.Background(), msg))

			sessions := srv.Sessions()
			require.Len(t, sessions, 1)
			s := sessions[0]
			assert.Equal(t, "client.test", s.Helo)
			assert.Equal(t, tc.wantTLS, s.TLS)
			if tc.wantAuth {
				assert.Equal(t, tc.user, s.AuthUser)
				assert.Equal(t, tc.pass, s.AuthPass)
			} else {
				assert.Empty(t, s.AuthUser)
			}
			assert.Equal(t, "shop@ecolaura.test", s.From)
			assert.Equal(t, []string{"zoe@example.org"}, s.Rcpts)

			// The server's dot reader hands us the DATA with LF line endings.
			raw := string(s.Data)
			for i, line := range strings.Split(raw, "\n") {
				assert.LessOrEqual(t, len(line), 998, "line %d too long", i)
			}
			p := parseReceived(t, s.Data)

			gotDate, err := p.Header.Date()
			require.NoError(t, err)
			assert.True(t, date.Equal(gotDate), "Date header %v", gotDate)
			assert.Regexp(t, `^<[0-9a-f]{32}@ecolaura\.test>$`, p.Header.Get("Message-Id"))
			assert.Equal(t, "1.0", p.Header.Get("Mime-Version"))

			from, err := mail.ParseAddress(p.Header.Get("From"))
			require.NoError(t, err)
			assert.Equal(t, "Écolaura Shop", from.Name)
			assert.Equal(t, "shop@ecolaura.test", from.Address)
			assert.True(t, strings.HasPrefix(p.Header.Get("From"), "=?utf-8?"), "non-ASCII display name is RFC 2047 encoded: %q", p.Header.Get("From"))
			to, err := mail.ParseAddress(p.Header.Get("To"))
			require.NoError(t, err)
			assert.Equal(t, "Zoë Customer", to.Name)
			assert.Equal(t, "zoe@example.org", to.Address)

			rawSubject := p.Header.Get("Subject")
			assert.True(t, strings.HasPrefix(rawSubject, "=?utf-8?q?"), "subject is RFC 2047 encoded: %q", rawSubject)
			subject, err := new(mime.WordDecoder).DecodeHeader(rawSubject)
			require.NoError(t, err)
			assert.Equal(t, msg.Subject, subject)

			// The quoted-printable decoder turns the CRLF line breaks back into LF.
			assert.Equal(t, msg.Text, p.Parts["text/plain"])
			assert.Equal(t, msg.HTML, p.Parts["text/html"])
			assert.Contains(t, raw, "Hello Zo=C3=AB,\n", "text body is quoted-printable")
			assert.Contains(t, raw, "\n.\nA line with only a dot above.", "a line with a single dot survives (dot-stuffed on the wire)")
		})
	}
}

func TestSMTPMailerASCIISubjectStaysReadable(t *testing.T) {
	srv := startSMTPServer(t, nil, "", "")
	m, err := ecomail.NewSMTPMailer(ecomail.Config{Host: "127.0.0.1", Port: srv.port(), From: "shop@ecolaura.test"})
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(), ports.Message{To: "a@example.org", Subject: "Order 42 confirmed", Text: "t", HTML: "<p>h</p>"}))
	s := srv.Sessions()
	require.Len(t, s, 1)
	p := parseReceived(t, s[0].Data)
	assert.Equal(t, "Order 42 confirmed", p.Header.Get("Subject"))
	assert.Equal(t, "<shop@ecolaura.test>", p.Header.Get("From"))
}

func TestSMTPMailerSinglePart(t *testing.T) {
	tests := []struct {
		name, text, html, wantType, wantBody string
	}{
		{"text only", "Just text, façon simple.\n", "", "text/plain", "Just text, façon simple.\n"},
		// SMTP ends the DATA with a line break, which a single part keeps.
		{"HTML only", "", "<p>Only <b>HTML</b></p>", "text/html", "<p>Only <b>HTML</b></p>\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTPServer(t, nil, "", "")
			m, err := ecomail.NewSMTPMailer(ecomail.Config{Host: "127.0.0.1", Port: srv.port(), From: "shop@ecolaura.test"})
			require.NoError(t, err)
			require.NoError(t, m.Send(context.Background(), ports.Message{To: "a@example.org", Subject: "s", Text: tc.text, HTML: tc.html}))
			s := srv.Sessions()
			require.Len(t, s, 1)
			msg, err := mail.ReadMessage(strings.NewReader(string(s[0].Data)))
			require.NoError(t, err)
			mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			require.NoError(t, err)
			assert.Equal(t, tc.wantType, mt)
			assert.Equal(t, "utf-8", params["charset"])
			assert.Equal(t, "quoted-printable", msg.Header.Get("Content-Transfer-Encoding"))
			body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
			require.NoError(t, err)
			assert.Equal(t, tc.wantBody, string(body))
		})
	}
}

func TestSMTPMailerRejectsBeforeConnecting(t *testing.T) {
	// A listener that counts connections: none must be made for bad input.
	srv := startSMTPServer(t, nil, "", "")
	m, err := ecomail.NewSMTPMailer(ecomail.Config{Host: "127.0.0.1", Port: srv.port(), From: "shop@ecolaura.test"})
	require.NoError(t, err)

	tests := []struct {
		name  string
		msg   ports.Message
		field string
	}{
		{"CRLF in subject", ports.Message{To: "a@example.org", Subject: "hi\r\nBcc: victim@example.org", Text: "x"}, "subject"},
		{"LF in subject", ports.Message{To: "a@example.org", Subject: "hi\nX-Evil: 1", Text: "x"}, "subject"},
		{"CRLF in recipient", ports.Message{To: "a@example.org\r\nBcc: victim@example.org", Subject: "s", Text: "x"}, "to"},
		{"two recipients", ports.Message{To: "a@example.org, b@example.org", Subject: "s", Text: "x"}, "to"},
		{"not an address", ports.Message{To: "nobody", Subject: "s", Text: "x"}, "to"},
		{"no body", ports.Message{To: "a@example.org", Subject: "s"}, "text"},
		{"huge subject", ports.Message{To: "a@example.org", Subject: strings.Repeat("x", 401), Text: "x"}, "subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Send(context.Background(), tc.msg)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Contains(t, ve.FieldMessages(), tc.field)
		})
	}
	assert.Empty(t, srv.Sessions())
}

func TestSMTPMailerServerErrors(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		srv := startSMTPServer(t, nil, "shop", "right-password")
		m, err := ecomail.NewSMTPMailer(ecomail.Config{Host: "127.0.0.1", Port: srv.port(), Username: "shop", Password: "wrong-password", From: "shop@ecolaura.test"})
		require.NoError(t, err)
		err = m.Send(context.Background(), ports.Message{To: "a@example.org", Subject: "s", Text: "x"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "AUTH")
		assert.Empty(t, srv.Sessions())
	})
	t.Run("auth configured but not offered", func(t *testing.T) {
		srv := startSMTPServer(t, nil, "", "")
		m, err := ecomail.NewSMTPMailer(ecomail.Config{Host: "127.0.0.1", Port: srv.port(), Username: "shop", Password: "pw", From: "shop@ecolaura.test"})
		require.NoError(t, err)
		err = m.Send(context.Background(), ports.Message{To: "a@example.org", Subject: "s", Text: "x"})
		require.ErrorContains(t, err, "does not offer authentication")
	})
	t.Run("nobody listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
		m, err := ecomail.NewSMTPMailer(ecomail.Config{Host: "127.0.0.1", Port: port, From: "shop@ecolaura.test"})
		require.NoError(t, err)
		err = m.Send(context.Background(), ports.Message{To: "a@example.org", Subject: "s", Text: "x"})
		require.ErrorContains(t, err, "dial")
	})
	t.Run("cancelled context", func(t *testing.T) {
		srv := startSMTPServer(t, nil, "", "")
		m, err := ecomail.NewSMTPMailer(ecomail.Config{Host: "127.0.0.1", Port: srv.port(), From: "shop@ecolaura.test"})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = m.Send(ctx, ports.Message{To: "a@example.org", Subject: "s", Text: "x"})
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestConfigValidate(t *testing.T) {
	good := ecomail.Config{Host: "smtp.example.org", Port: 587, Username: "u", Password: "p", From: "Shop <shop@example.org>"}
	tests := []struct {
		name   string
		mutate func(*ecomail.Config)
		field  string
	}{
		{"valid", func(*ecomail.Config) {}, ""},
		{"no auth is fine", func(c *ecomail.Config) { c.Username, c.Password = "", "" }, ""},
		{"empty host", func(c *ecomail.Config) { c.Host = "" }, "host"},
		{"host with CRLF", func(c *ecomail.Config) { c.Host = "a\r\nb" }, "host"},
		{"port zero", func(c *ecomail.Config) { c.Port = 0 }, "port"},
		{"port too big", func(c *ecomail.Config) { c.Port = 70000 }, "port"},
		{"user without password", func(c *ecomail.Config) { c.Password = "" }, "username"},
		{"bad from", func(c *ecomail.Config) { c.From = "not an address" }, "from"},
		{"from with CRLF", func(c *ecomail.Config) { c.From = "shop@example.org\r\nBcc: x@y.z" }, "from"},
		{"negative timeout", func(c *ecomail.Config) { c.Timeout = -time.Second }, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			err := c.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				_, err = ecomail.NewSMTPMailer(c)
				require.NoError(t, err)
				return
			}
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a bad config is a wiring mistake, not user input")
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			var fields []string
			for _, f := range ce.Fields {
				fields = append(fields, f.Field)
			}
			assert.Contains(t, fields, tc.field)
			_, err = ecomail.NewSMTPMailer(c)
			require.ErrorAs(t, err, &ce)
		})
	}
}
