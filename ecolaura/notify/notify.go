// Package notify renders and sends the emails of the Ecolaura core: one
// [Kind] per logical message (order confirmation, password reset, email
// verification, email change), each with a subject, a plain-text and an
// HTML template behind the [ports.MessageTemplates] port (the mail
// adapter's templates are embedded and can be overridden file by file),
// delivered through the [ports.Mailer] port.
//
// The services send from their jobs, at least once: a [Notifier] gives
// every logical message a stable Message-ID ([MessageID]: the kind, the ID
// of the entity it is about and a domain), so that a retry after an
// uncertain outcome is the same mail to the recipient's software, and it
// turns a message the mail server refused for good into an error matching
// [ports.ErrPermanent], which ends the job instead of retrying it. It counts
// sent, retried and refused messages per kind ([Notifier.Stats]) for the
// metrics.
//
// [New] renders every kind with sample data, so a broken template fails
// when the program starts, not when a customer is waiting for a mail.
//
// # Adding a message
//
// Issue-sized steps, for a new message such as "order shipped":
//
//  1. Add a Kind constant here, a data type with the fields its templates
//     may use (documented, in display form: amounts and footprints as
//     text), and an entry in [Kinds] with sample data.
//  2. Add the templates to adapters/mail/templates: KIND.subject.tmpl,
//     KIND.text.tmpl and KIND.html.tmpl (the HTML one fills the "body" of
//     the shared layout; see the existing ones).
//  3. In the service that owns the event, enqueue a job in the transaction
//     that causes the mail, and in its job handler call [Notifier.Send]
//     with the kind, the entity's ID, the recipient and the data.
//
// The tests of this package and of adapters/mail check every kind against
// the embedded templates.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Kind names a logical message and its templates.
type Kind string

// The message kinds.
const (
	// OrderConfirmation is sent when an order is confirmed; data
	// [OrderConfirmationData], entity the order.
	OrderConfirmation Kind = "order_confirmation"
	// PasswordReset carries a link to set a new password; data
	// [PasswordResetData], entity the reset token.
	PasswordReset Kind = "password_reset"
	// VerifyEmail carries a link that proves the owner receives mail at the
	// account's address; data [VerifyEmailData], entity the token.
	VerifyEmail Kind = "verify_email"
	// EmailChange is sent to a new address and carries the link that moves
	// the account to it; data [EmailChangeData], entity the token.
	EmailChange Kind = "email_change"
)

// Shop is what every template may show: the shop's name, its public URL
// (links start with it) and the address customers can write to.
type Shop struct {
	Name         string
	URL          string
	SupportEmail string
}

// View is what a message's templates are executed with: {{.Shop.Name}},
// {{.To}} (the recipient's address) and {{.Data.…}} (the kind's data).
type View struct {
	Shop Shop
	To   string
	Data any
}

// OrderLine is one line of an order in display form.
type OrderLine struct {
	Name      string
	Quantity  int
	UnitPrice string // "12.50 EUR"
	Total     string
}

// OrderConfirmationData is the data of [OrderConfirmation].
type OrderConfirmationData struct {
	// Name is the customer's name ("there" when they gave none).
	Name    string
	OrderID string
	// ShortID is the last 8 hex digits of the order ID, upper-case.
	ShortID  string
	Lines    []OrderLine
	Subtotal string
	// Offset is the price of the carbon offset, "" when none was bought;
	// OffsetFootprint the footprint it compensates ("1.5 kg CO2e").
	Offset          string
	OffsetFootprint string
	Total           string
	// Footprint is the order's carbon footprint ("3.25 kg CO2e").
	Footprint string
}

// PasswordResetData is the data of [PasswordReset].
type PasswordResetData struct {
	Name string
	// Link opens the shop's reset page with the token in its query
	// (…/reset-password?token=…); Token is the token alone.
	Link  string
	Token string
	// ValidMinutes is how long the link works (30).
	ValidMinutes int
}

// VerifyEmailData is the data of [VerifyEmail].
type VerifyEmailData struct {
	Name string
	// Email is the address being verified.
	Email string
	// Link opens the shop's verification page (…/verify-email?token=…).
	Link         string
	Token        string
	ValidMinutes int
}

// EmailChangeData is the data of [EmailChange].
type EmailChangeData struct {
	Name string
	// OldEmail is the account's current address, NewEmail the one this
	// message goes to.
	OldEmail     string
	NewEmail     string
	Link         string
	Token        string
	ValidMinutes int
}

// KindSample is a kind with sample data, used to check its templates.
type KindSample struct {
	Kind   Kind
	Sample any
	// Variants are further sample data of the kind whose optional fields
	// are empty, so that the branches real messages take without them
	// ({{if .Data.Offset}}…{{else}}…) are checked too.
	Variants []any
}

// Kinds lists every kind the core sends, each with sample data.
func Kinds() []KindSample {
	link := "https://shop.example.org/reset-password?token=c2FtcGxlLXRva2Vu"
	order := OrderConfirmationData{
		Name: "Ada", OrderID: "0191f5e2-7a3b-7c4d-8e5f-0123456789ab", ShortID: "456789AB",
		Lines: []OrderLine{
			{Name: "Bamboo toothbrush <4-pack>", Quantity: 2, UnitPrice: "6.50 EUR", Total: "13.00 EUR"},
			{Name: "Steel bottle", Quantity: 1, UnitPrice: "19.99 EUR", Total: "19.99 EUR"},
		},
		Subtotal: "32.99 EUR", Offset: "0.07 EUR", OffsetFootprint: "3.25 kg CO2e", Total: "33.06 EUR", Footprint: "3.25 kg CO2e",
	}
	noOffset := order
	noOffset.Offset, noOffset.OffsetFootprint, noOffset.Total = "", "", order.Subtotal
	return []KindSample{
		{Kind: OrderConfirmation, Sample: order, Variants: []any{noOffset}},
		{Kind: PasswordReset, Sample: PasswordResetData{Name: "Ada", Link: link, Token: "c2FtcGxlLXRva2Vu", ValidMinutes: 30}},
		{Kind: VerifyEmail, Sample: VerifyEmailData{Name: "Ada", Email: "ada@example.org", Link: strings.Replace(link, "reset-password", "verify-email", 1), Token: "c2FtcGxlLXRva2Vu", ValidMinutes: 30}},
		{Kind: EmailChange, Sample: EmailChangeData{Name: "Ada", OldEmail: "ada@example.org", NewEmail: "ada@example.net",
			Link: strings.Replace(link, "reset-password", "verify-email", 1), Token: "c2FtcGxlLXRva2Vu", ValidMinutes: 30}},
	}
}

// SampleShop is the shop the templates are checked with.
var SampleShop = Shop{Name: "Ecolaura", URL: "https://shop.example.org", SupportEmail: "help@example.org"}

// Email is one logical message to send.
type Email struct {
	Kind Kind
	// EntityID is what the message is about (the order, the token): with
	// the kind it makes the Message-ID.
	EntityID ecolaura.ID
	To       string
	// Data is the kind's data type.
	Data any
}

// Config holds the settings of a [Notifier].
type Config struct {
	// Shop is shown by every template. Its URL starts every link.
	Shop Shop
	// Domain is the right-hand side of Message-IDs; the host of Shop.URL
	// when empty.
	Domain string
	// Logger receives delivery reports; nil discards them.
	Logger *slog.Logger
}

// Validate checks the settings and returns an *ecolaura.ConfigError.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(strings.TrimSpace(c.Shop.Name) != "", "shop_name", "must not be empty")
	u, err := url.Parse(c.Shop.URL)
	v.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == "",
		"shop_url", "must be an absolute http(s) URL without query or fragment, such as https://shop.example.org")
	if c.Shop.SupportEmail != "" {
		_, err := ecolaura.NormalizeEmail(c.Shop.SupportEmail)
		v.Check(err == nil, "support_email", "must be an email address")
	}
	v.Check(c.Domain == "" || validDomain(c.Domain), "domain", "must be a domain name such as shop.example.org")
	return v.ConfigErr()
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Notifier renders and sends the emails; it is safe for concurrent use.
type Notifier struct {
	templates ports.MessageTemplates
	mailer    ports.Mailer
	shop      Shop
	domain    string
	log       *slog.Logger

	mu    sync.Mutex
	stats map[Kind]*KindStats
}

// KindStats counts the sends of one kind since the Notifier was made.
type KindStats struct {
	Kind Kind
	// Sent counts messages the mail server accepted.
	Sent uint64
	// Failed counts attempts that may succeed later (the job retries).
	Failed uint64
	// Rejected counts messages refused for good (SMTP 5xx, or data its
	// templates cannot render): their jobs end without a retry.
	Rejected uint64
}

// New returns a Notifier that renders with templates and sends with
// mailer. It renders every kind of [Kinds] with its sample data first.
// Errors: an *ecolaura.ConfigError for a nil dependency, a bad setting, or
// a kind whose templates are missing or fail with the sample (naming the
// kind and the template's error).
func New(templates ports.MessageTemplates, mailer ports.Mailer, cfg Config) (*Notifier, error) {
	var v ecolaura.Validator
	v.Check(templates != nil, "templates", "is required")
	v.Check(mailer != nil, "mailer", "is required")
	v.Merge("", cfg.Validate())
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if err := Check(templates, cfg.Shop); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	domain := cfg.Domain
	if domain == "" {
		u, _ := url.Parse(cfg.Shop.URL)
		domain = u.Hostname()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{templates: templates, mailer: mailer, shop: cfg.Shop, domain: strings.ToLower(domain),
		log: log.With("component", "notify"), stats: map[Kind]*KindStats{}}
	for _, k := range Kinds() {
		n.stats[k.Kind] = &KindStats{Kind: k.Kind}
	}
	return n, nil
}

// Check renders every kind of [Kinds] with its sample data and each of its
// variants, and shop, and returns an *ecolaura.ConfigError naming each kind
// that fails.
func Check(templates ports.MessageTemplates, shop Shop) error {
	var v ecolaura.Validator
	for _, k := range Kinds() {
		for _, data := range append([]any{k.Sample}, k.Variants...) {
			m, err := templates.Render(string(k.Kind), View{Shop: shop, To: "ada@example.org", Data: data})
			switch {
			case err != nil:
				v.Add("templates."+string(k.Kind), "%v", err)
			case strings.TrimSpace(m.Subject) == "":
				v.Add("templates."+string(k.Kind), "renders an empty subject")
			case strings.TrimSpace(m.Text) == "" || strings.TrimSpace(m.HTML) == "":
				v.Add("templates."+string(k.Kind), "must render both a plain-text and an HTML body")
			default:
				continue
			}
			break // one error per kind
		}
	}
	return v.ConfigErr()
}

// Shop returns the shop the templates show.
func (n *Notifier) Shop() Shop { return n.shop }

// Link returns the shop's URL followed by path with token in its query
// ("https://shop.example.org/reset-password?token=…").
func (n *Notifier) Link(path, token string) string {
	return strings.TrimSuffix(n.shop.URL, "/") + path + "?token=" + url.QueryEscape(token)
}

// MessageID returns the stable Message-ID (without angle brackets) of the
// logical message kind about entity: "kind.entity@domain".
func MessageID(kind Kind, entity ecolaura.ID, domain string) string {
	return string(kind) + "." + string(entity) + "@" + domain
}

// errUnknownKind is returned for a kind that is not in [Kinds].
var errUnknownKind = errors.New("unknown message kind")

// Send renders e and hands it to the mailer with its stable Message-ID.
// Errors: an error matching ports.ErrPermanent when the data cannot be
// rendered, the kind is unknown or the mail server refused the message for
// good; the mailer's other errors, which may succeed on a retry.
func (n *Notifier) Send(ctx context.Context, e Email) error {
	st, ok := n.stats[e.Kind]
	if !ok {
		return ports.Permanent(fmt.Errorf("notify: %w %q", errUnknownKind, e.Kind))
	}
	r, err := n.templates.Render(string(e.Kind), View{Shop: n.shop, To: e.To, Data: e.Data})
	if err != nil {
		n.count(st, ports.ErrPermanent)
		return ports.Permanent(fmt.Errorf("notify: render %s: %w", e.Kind, err))
	}
	m := ports.Message{ID: MessageID(e.Kind, e.EntityID, n.domain), To: e.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML}
	err = n.mailer.Send(ctx, m)
	n.count(st, err)
	switch {
	case err == nil:
		n.log.InfoContext(ctx, "email sent", "kind", e.Kind, "message_id", m.ID)
		return nil
	case errors.Is(err, ports.ErrPermanent):
		n.log.ErrorContext(ctx, "email refused for good; not retried", "kind", e.Kind, "message_id", m.ID, "err", err)
		return fmt.Errorf("notify: send %s: %w", e.Kind, err)
	default:
		n.log.WarnContext(ctx, "email not sent; will retry", "kind", e.Kind, "message_id", m.ID, "err", err)
		return fmt.Errorf("notify: send %s: %w", e.Kind, err)
	}
}

func (n *Notifier) count(st *KindStats, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case err == nil:
		st.Sent++
	case errors.Is(err, ports.ErrPermanent):
		st.Rejected++
	default:
		st.Failed++
	}
}

// Stats returns the counts per kind, in the order of [Kinds].
func (n *Notifier) Stats() []KindStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]KindStats, 0, len(n.stats))
	for _, k := range Kinds() {
		out = append(out, *n.stats[k.Kind])
	}
	return slices.Clip(out)
}
