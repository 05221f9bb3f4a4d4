package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// DefaultTimeout bounds one whole SMTP conversation when [Config.Timeout] is 0.
const DefaultTimeout = 30 * time.Second

// Security is how the connection to the SMTP server is protected.
type Security string

// The security modes.
const (
	// STARTTLS connects in plain text and upgrades with STARTTLS, which is
	// required: a server that does not offer it is refused (submission,
	// port 587, the default).
	STARTTLS Security = "starttls"
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465).
	ImplicitTLS Security = "tls"
	// NoTLS sends everything, credentials included, in plain text: only for
	// a relay on the same host or a test server.
	NoTLS Security = "none"
)

// Config configures an [SMTPMailer]. [ParseURL] builds one from
// ECOLAURA_SMTP_URL.
type Config struct {
	// Host is the SMTP server's host name (also the TLS server name).
	Host string
	// Port is the server's port (587 for STARTTLS, 465 for implicit TLS).
	Port int
	// Security is how the connection is protected (default STARTTLS).
	Security Security
	// Username and Password enable SMTP authentication (PLAIN, or LOGIN
	// when the server offers only that); both empty means none.
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

// ParseURL reads an SMTP URL and a sender address into a Config:
//
//	smtp://user:pass@host:587          STARTTLS, required (port 587 by default)
//	smtps://user:pass@host:465         implicit TLS (port 465 by default)
//	smtp://host:25?tls=none            plain text: a local relay or a test server
//
// User and password are URL-encoded (a "@" in a password is "%40").
// Errors: an *ecolaura.ConfigError on "smtp_url" (never quoting the
// password) or on a field of the result.
func ParseURL(raw, from string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, ecolaura.Misconfigured("smtp_url", format, args...)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a URL like smtp://user:pass@host:587")
	}
	c := Config{Host: u.Hostname(), From: from}
	switch u.Scheme {
	case "smtp":
		c.Security, c.Port = STARTTLS, 587
	case "smtps":
		c.Security, c.Port = ImplicitTLS, 465
	default:
		return bad("scheme must be smtp or smtps, got %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return bad("port must be a number")
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" {
		return bad("must have no path")
	}
	for k, vs := range u.Query() {
		switch {
		case k == "tls" && len(vs) == 1 && vs[0] == "none" && u.Scheme == "smtp":
			c.Security = NoTLS
		case k == "tls":
			return bad("the only tls option is tls=none, on smtp://")
		default:
			return bad("unknown option %q (only tls=none)", k)
		}
	}
	return c, c.Validate()
}

// Validate checks the configuration and returns an *ecolaura.ConfigError
// naming every bad field.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(strings.TrimSpace(c.Host) != "", "host", "must not be empty")
	v.Check(!strings.ContainsAny(c.Host, "\r\n\x00 /@"), "host", "must be a host name")
	v.Check(c.Port >= 1 && c.Port <= 65535, "port", "must be between 1 and 65535")
	v.Check(c.Security == "" || c.Security == STARTTLS || c.Security == ImplicitTLS || c.Security == NoTLS, "security", "must be starttls, tls or none")
	v.Check((c.Username == "") == (c.Password == ""), "username", "username and password must be given together")
	v.Check(!strings.ContainsAny(c.Username+c.Password, "\x00\r\n"), "username", "must not contain NUL or line breaks")
	if _, err := parseAddress(c.From); err != nil {
		v.Add("from", "must be an email address such as \"Shop <shop@example.org>\"")
	}
	v.Check(!strings.ContainsAny(c.HelloName, "\r\n "), "hello_name", "must be a host name")
	v.Check(c.Timeout >= 0, "timeout", "must not be negative")
	return v.ConfigErr()
}

// String describes the configuration for logs without the password:
// "smtp://shop@mail.example.org:587 (STARTTLS required)".
func (c Config) String() string {
	scheme := "smtp"
	if c.Security == ImplicitTLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	mode := "STARTTLS required"
	switch c.Security {
	case ImplicitTLS:
		mode = "implicit TLS"
	case NoTLS:
		mode = "no TLS"
		u.RawQuery = "tls=none"
	}
	return u.String() + " (" + mode + ")"
}

// SMTPMailer sends email through an SMTP server with
// github.com/wneessen/go-mail: one connection per message, TLS as
// configured (STARTTLS required by default), authentication when
// credentials are set, and one multipart/alternative message (text and
// HTML) with the message's stable Message-ID. A refusal with an SMTP 5xx
// code is returned as a [ports.ErrPermanent] error; everything else
// (unreachable server, 4xx, TLS or authentication failures, which an
// operator can fix) may succeed on a retry.
type SMTPMailer struct {
	cfg  Config
	from *mail.Address
	tls  *tls.Config
	now  func() time.Time
	log  *slog.Logger
	bad  ecolaura.Validator // options given a typed nil
	// tracer spans each Send (nil: not traced).
	tracer trace.Tracer
}

var _ ports.Mailer = (*SMTPMailer)(nil)

// SMTPOption configures an [SMTPMailer].
type SMTPOption func(*SMTPMailer)

// WithTLSConfig sets the TLS configuration (for example a private root
// CA). Its ServerName defaults to the configured host.
func WithTLSConfig(c *tls.Config) SMTPOption {
	return func(m *SMTPMailer) {
		if c != nil {
			m.tls = c.Clone()
		}
	}
}

// WithClock sets the clock used for the Date header (default: the wall
// clock, time.Now).
//
// nil keeps the default; a typed nil is refused by NewSMTP with an
// *ecolaura.ConfigError.
func WithClock(c ports.Clock) SMTPOption {
	return func(m *SMTPMailer) {
		switch {
		case c == nil:
		case ecolaura.IsNil(c):
			m.bad.Required("clock", c)
		default:
			m.now = c.Now
		}
	}
}

// WithTracerProvider traces each Send with OpenTelemetry: a client span
// "smtp send" under the caller's span (an order's job, a request) with the
// server's address and port, the outcome, and whether a refusal is
// permanent; never the recipient or the message. A Send outside a traced
// context records nothing. nil (the default) traces nothing.
func WithTracerProvider(tp trace.TracerProvider) SMTPOption {
	return func(m *SMTPMailer) {
		if tp != nil {
			m.tracer = tp.Tracer("github.com/ecolaura/ecolaura/adapters/mail")
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

// NewSMTPMailer returns a mailer for cfg. It does not connect. Errors: an
// *ecolaura.ConfigError for an invalid cfg.
func NewSMTPMailer(cfg Config, opts ...SMTPOption) (*SMTPMailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("smtp mailer: %w", err)
	}
	if cfg.Security == "" {
		cfg.Security = STARTTLS
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	from, _ := parseAddress(cfg.From)
	m := &SMTPMailer{cfg: cfg, from: from, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(m)
	}
	if err := m.bad.ConfigErr(); err != nil {
		return nil, fmt.Errorf("smtp mailer config: %w", err)
	}
	if m.tls == nil {
		m.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if m.tls.ServerName == "" {
		m.tls.ServerName = cfg.Host
	}
	return m, nil
}

// String describes the mailer for logs, without the password.
func (m *SMTPMailer) String() string { return m.cfg.String() }

// Send delivers msg. Errors: a *ecolaura.ValidationError for a message that
// cannot be sent (no single recipient, a header with a line break, no
// body) wrapped as permanent; an error matching ports.ErrPermanent when the
// server refused the message for good (5xx); other errors may succeed on a
// retry.
func (m *SMTPMailer) Send(ctx context.Context, msg ports.Message) (err error) {
	if m.tracer != nil && trace.SpanFromContext(ctx).IsRecording() {
		var span trace.Span
		ctx, span = m.tracer.Start(ctx, "smtp send", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("server.address", m.cfg.Host), attribute.Int("server.port", m.cfg.Port),
			attribute.String("smtp.security", string(m.cfg.Security))))
		defer func() {
			if err != nil {
				// The error names the recipient: only its kind is recorded.
				span.SetAttributes(attribute.Bool("smtp.permanent", errors.Is(err, ports.ErrPermanent)))
				span.SetStatus(codes.Error, "smtp send failed")
			}
			span.End()
		}()
	}
	gm, to, err := m.compose(msg)
	if err != nil {
		return ports.Permanent(err)
	}
	client, err := m.client()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := client.DialAndSendWithContext(ctx, gm); err != nil {
		err = classify(err)
		m.log.WarnContext(ctx, "smtp send failed", "to", to.Address, "message_id", msg.ID,
			"permanent", errors.Is(err, ports.ErrPermanent), "err", err)
		return fmt.Errorf("smtp send to %s: %w", to.Address, err)
	}
	m.log.InfoContext(ctx, "email sent", "to", to.Address, "message_id", gm.GetMessageID(), "took", time.Since(start))
	return nil
}

// client returns a go-mail client for one conversation.
func (m *SMTPMailer) client() (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithHELO(m.cfg.HelloName),
		gomail.WithTLSConfig(m.tls),
	}
	switch m.cfg.Security {
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.cfg.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if m.cfg.Security == NoTLS {
			// go-mail refuses PLAIN over an unencrypted connection unless
			// told: the operator said so with tls=none.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	c, err := gomail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return nil, ecolaura.Misconfigured("smtp", "%v", err)
	}
	return c, nil
}

// classify marks an SMTP 5xx refusal as permanent.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return ports.Permanent(err)
	}
	return err
}

// compose validates msg and builds the go-mail message.
func (m *SMTPMailer) compose(msg ports.Message) (*gomail.Msg, *mail.Address, error) {
	var v ecolaura.Validator
	v.Check(!strings.ContainsAny(msg.To, "\r\n"), "to", "must not contain line breaks")
	v.Check(!strings.ContainsAny(msg.Subject, "\r\n"), "subject", "must not contain line breaks")
	v.Check(len(msg.Subject) <= maxSubjectBytes, "subject", "must be at most %d bytes", maxSubjectBytes)
	v.Check(msg.Text != "" || msg.HTML != "", "text", "a message needs a text or an HTML body")
	v.Check(msg.ID == "" || validMessageID(msg.ID), "id", "must be a Message-ID like local@domain, without angle brackets")
	to, err := parseAddress(msg.To)
	if err != nil {
		v.Add("to", "must be one email address")
	}
	if err := v.Err(); err != nil {
		return nil, nil, fmt.Errorf("compose email: %w", err)
	}
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	gm.FromMailAddress(m.from)
	if err := gm.To(to.String()); err != nil {
		return nil, nil, fmt.Errorf("compose email: %w", ecolaura.Invalid("to", "%v", err))
	}
	gm.Subject(msg.Subject)
	id := msg.ID
	if id == "" {
		id = newMessageID(m.from.Address)
	}
	gm.SetMessageIDWithValue(id)
	gm.SetDateWithValue(m.now())
	switch {
	case msg.Text != "" && msg.HTML != "":
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	case msg.Text != "":
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	default:
		gm.SetBodyString(gomail.TypeTextHTML, msg.HTML)
	}
	return gm, to, nil
}

// validMessageID accepts local@domain made of printable ASCII without
// spaces or angle brackets.
func validMessageID(id string) bool {
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || len(id) > 250 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// parseAddress accepts exactly one address, without line breaks.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("address contains a line break")
	}
	return mail.ParseAddress(s)
}

// newMessageID makes a unique Message-ID for a message that has none.
func newMessageID(from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(r[:]) + "@" + domain
}
