package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// maxSubjectBytes keeps the encoded Subject header well below SMTP's 998
// character line limit.
const maxSubjectBytes = 400

// DefaultTimeout bounds one whole SMTP conversation when [Config.Timeout] is 0.
const DefaultTimeout = 30 * time.Second

// Config configures an [SMTPMailer].
type Config struct {
	// Host is the SMTP server's host name (also the TLS server name).
	Host string
	// Port is the server's port, typically 587 (submission with STARTTLS).
	Port int
	// Username and Password enable AUTH PLAIN; both empty means no
	// authentication. net/smtp refuses to send the password over an
	// unencrypted connection unless the server is on localhost.
	Username string
	Password string
	// From is the sender address, optionally with a display name:
	// "Ecolaura <shop@example.org>".
	From string
	// HelloName is the name sent with EHLO; "localhost" when empty.
	HelloName string
	// Timeout bounds one whole conversation; [DefaultTimeout] when 0.
	Timeout time.Duration
}

// Validate checks the configuration and returns an *ecolaura.ConfigError
// naming every bad field.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(strings.TrimSpace(c.Host) != "", "host", "must not be empty")
	v.Check(!strings.ContainsAny(c.Host, "\r\n\x00 /"), "host", "must be a host name")
	v.Check(c.Port >= 1 && c.Port <= 65535, "port", "must be between 1 and 65535")
	v.Check((c.Username == "") == (c.Password == ""), "username", "username and password must be given together")
	v.Check(!strings.ContainsAny(c.Username+c.Password, "\x00"), "username", "must not contain NUL")
	if _, err := parseAddress(c.From); err != nil {
		v.Add("from", "must be an email address such as \"Shop <shop@example.org>\"")
	}
	v.Check(!strings.ContainsAny(c.HelloName, "\r\n "), "hello_name", "must be a host name")
	v.Check(c.Timeout >= 0, "timeout", "must not be negative")
	return v.ConfigErr()
}

// SMTPMailer sends email through an SMTP server with net/smtp: EHLO, STARTTLS
// when the server offers it, AUTH PLAIN when credentials are configured, then
// one multipart/alternative message (text and HTML) per Send.
type SMTPMailer struct {
	cfg  Config
	from *mail.Address
	tls  *tls.Config
	now  func() time.Time
	log  *slog.Logger
}

var _ ports.Mailer = (*SMTPMailer)(nil)

// SMTPOption configures an [SMTPMailer].
type SMTPOption func(*SMTPMailer)

// WithTLSConfig sets the TLS configuration used for STARTTLS (for example a
// private root CA). Its ServerName defaults to the configured host.
func WithTLSConfig(c *tls.Config) SMTPOption {
	return func(m *SMTPMailer) {
		if c != nil {
			m.tls = c.Clone()
		}
	}
}

// WithClock sets the clock used for the Date header (default: the wall
// clock, time.Now).
func WithClock(c ports.Clock) SMTPOption {
	return func(m *SMTPMailer) {
		if c != nil {
			m.now = c.Now
		}
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) SMTPOption {
	return func(m *SMTPMailer) {
		if l != nil {
			m.log = l
		}
	}
}

// NewSMTPMailer validates cfg and returns a mailer. Errors: an
// *ecolaura.ConfigError for a bad configuration. It does not connect.
func NewSMTPMailer(cfg Config, opts ...SMTPOption) (*SMTPMailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("smtp mailer config: %w", err)
	}
	from, err := parseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp mailer config: %w", err)
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	m := &SMTPMailer{cfg: cfg, from: from, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(m)
	}
	if m.tls == nil {
		m.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if m.tls.ServerName == "" {
		m.tls.ServerName = cfg.Host
	}
	return m, nil
}

// Send delivers msg in one SMTP conversation. Errors: ecolaura.ErrInvalid for
// a bad recipient or a header containing CR or LF (header injection), checked
// before connecting; otherwise network and protocol errors wrapped with the
// step that failed. Cancelling ctx aborts the conversation.
func (s *SMTPMailer) Send(ctx context.Context, msg ports.Message) error {
	to, raw, err := s.compose(msg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	dialer := net.Dialer{Deadline: deadline}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial %s: %w", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("smtp set deadline: %w", err)
	}
	// Unblock any pending read or write when ctx is cancelled.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	err = s.converse(conn, to.Address, raw)
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return fmt.Errorf("smtp send: %w", ctxErr)
	}
	if err != nil {
		return err
	}
	s.log.DebugContext(ctx, "email sent", "to", to.Address, "subject", msg.Subject, "server", addr)
	return nil
}

func (s *SMTPMailer) converse(conn net.Conn, rcpt string, raw []byte) error {
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("smtp AUTH: server does not offer authentication")
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("smtp DATA write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA end: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp QUIT: %w", err)
	}
	return nil
}

// compose validates msg and renders the RFC 5322 message.
func (s *SMTPMailer) compose(msg ports.Message) (*mail.Address, []byte, error) {
	var v ecolaura.Validator
	v.Check(!strings.ContainsAny(msg.To, "\r\n"), "to", "must not contain line breaks")
	v.Check(!strings.ContainsAny(msg.Subject, "\r\n"), "subject", "must not contain line breaks")
	v.Check(len(msg.Subject) <= maxSubjectBytes, "subject", "must be at most %d bytes", maxSubjectBytes)
	v.Check(msg.Text != "" || msg.HTML != "", "text", "a message needs a text or an HTML body")
	to, err := parseAddress(msg.To)
	if err != nil {
		v.Add("to", "must be one email address")
	}
	if err := v.Err(); err != nil {
		return nil, nil, fmt.Errorf("compose email: %w", err)
	}
	raw, err := buildMessage(header{
		From:      s.from,
		To:        to,
		Subject:   msg.Subject,
		Date:      s.now(),
		MessageID: newMessageID(s.from.Address),
	}, msg.Text, msg.HTML)
	if err != nil {
		return nil, nil, fmt.Errorf("compose email: %w", err)
	}
	return to, raw, nil
}

type header struct {
	From, To  *mail.Address
	Subject   string
	Date      time.Time
	MessageID string
}

// buildMessage renders headers and a multipart/alternative body (or a single
// part when only one body is present), CRLF line endings, bodies in
// quoted-printable UTF-8, non-ASCII headers RFC 2047 encoded.
func buildMessage(h header, text, html string) ([]byte, error) {
	var b bytes.Buffer
	writeHeader := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	writeHeader("Date", h.Date.Format(time.RFC1123Z))
	writeHeader("Message-ID", h.MessageID)
	writeHeader("From", h.From.String())
	writeHeader("To", h.To.String())
	writeHeader("Subject", mime.QEncoding.Encode("utf-8", h.Subject))
	writeHeader("MIME-Version", "1.0")

	if text == "" || html == "" {
		ctype := "text/plain; charset=utf-8"
		body := text
		if text == "" {
			ctype, body = "text/html; charset=utf-8", html
		}
		writeHeader("Content-Type", ctype)
		writeHeader("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, body); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}

	mw := multipart.NewWriter(&b)
	writeHeader("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", text},
		{"text/html; charset=utf-8", html},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(pw, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, body string) error {
	qw := quotedprintable.NewWriter(w)
	if _, err := qw.Write([]byte(body)); err != nil {
		return err
	}
	return qw.Close()
}

// parseAddress accepts exactly one address, without line breaks.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("address contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func newMessageID(from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}
