package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"

	"go.opentelemetry.io/otel/trace"

	ecomail "github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/ports"
)

// mailConfig is the email configuration serve and worker share: where
// mail goes (ECOLAURA_SMTP_URL, ECOLAURA_MAIL_FROM), how it looks
// (ECOLAURA_TEMPLATES_DIR, the shop's name, URL and support address) and
// the key of the mailed one-time tokens (ECOLAURA_SECRET_KEY).
type mailConfig struct {
	SMTPURL      string
	From         string
	TemplatesDir string
	ShopName     string
	ShopURL      string
	SupportEmail string
	SecretKey    string
}

// minSecretKey is the shortest ECOLAURA_SECRET_KEY accepted (the bytes of
// the value, e.g. `openssl rand -base64 32`, 44 characters).
const minSecretKey = users.MinTokenKeyBytes

// developmentKey keys mailed tokens when ECOLAURA_SECRET_KEY is unset
// outside production: known to everyone, so that serve and worker agree
// during development, and refused in production.
var developmentKey = func() []byte {
	sum := sha256.Sum256([]byte("ecolaura development token key: public, never use in production"))
	return sum[:]
}()

// mailFlags registers the flags of the mail settings on fs, with their
// environment variables as defaults; publicURL is the default shop URL.
func mailFlags(fs *flag.FlagSet, env getenv, publicURL string) *mailConfig {
	m := &mailConfig{
		SMTPURL: env("ECOLAURA_SMTP_URL"), From: env("ECOLAURA_MAIL_FROM"), TemplatesDir: env("ECOLAURA_TEMPLATES_DIR"),
		ShopName: or(env("ECOLAURA_SHOP_NAME"), "Ecolaura"), ShopURL: or(env("ECOLAURA_SHOP_URL"), or(publicURL, "http://localhost:8080")),
		SupportEmail: env("ECOLAURA_SUPPORT_EMAIL"), SecretKey: env("ECOLAURA_SECRET_KEY"),
	}
	fs.StringVar(&m.SMTPURL, "smtp-url", m.SMTPURL, "SMTP server: smtp://user:pass@host:587 (STARTTLS required), smtps://… (implicit TLS), smtp://host:25?tls=none (plain, local relay); empty logs mail instead of sending it (ECOLAURA_SMTP_URL)")
	fs.StringVar(&m.From, "mail-from", m.From, "sender address of every email, e.g. \"Ecolaura <shop@example.org>\" (ECOLAURA_MAIL_FROM)")
	fs.StringVar(&m.TemplatesDir, "templates-dir", m.TemplatesDir, "directory of email templates replacing the embedded ones file by file (ECOLAURA_TEMPLATES_DIR)")
	fs.StringVar(&m.ShopName, "shop-name", m.ShopName, "the shop's name in emails (ECOLAURA_SHOP_NAME)")
	fs.StringVar(&m.ShopURL, "shop-url", m.ShopURL, "the shop's URL; links in emails start with it (ECOLAURA_SHOP_URL, default ECOLAURA_PUBLIC_URL)")
	fs.StringVar(&m.SupportEmail, "support-email", m.SupportEmail, "the address emails tell customers to write to (ECOLAURA_SUPPORT_EMAIL)")
	return m
}

// validate checks the settings (production refuses the log mailer and the
// development token key). It never quotes the SMTP password.
func (m mailConfig) validate(production bool) []error {
	var errs []error
	if m.SMTPURL != "" {
		if m.From == "" {
			errs = append(errs, errors.New("ECOLAURA_MAIL_FROM / --mail-from is required with ECOLAURA_SMTP_URL, e.g. \"Ecolaura <shop@example.org>\""))
		}
		if _, err := ecomail.ParseURL(m.SMTPURL, or(m.From, "shop@example.org")); err != nil {
			errs = append(errs, fmt.Errorf("ECOLAURA_SMTP_URL / --smtp-url: %w", err))
		}
	}
	if production && m.SMTPURL == "" {
		errs = append(errs, errors.New("ECOLAURA_ENV=production needs a real mailer: set ECOLAURA_SMTP_URL (smtp://user:pass@host:587) and ECOLAURA_MAIL_FROM"))
	}
	if m.SecretKey != "" && len(m.SecretKey) < minSecretKey {
		errs = append(errs, fmt.Errorf("ECOLAURA_SECRET_KEY must be at least %d bytes (e.g. `openssl rand -base64 32`), got %d", minSecretKey, len(m.SecretKey)))
	}
	if production && m.SecretKey == "" {
		errs = append(errs, errors.New("ECOLAURA_ENV=production needs ECOLAURA_SECRET_KEY (at least 32 bytes, e.g. `openssl rand -base64 32`): it keys the links mailed for password resets and email verification"))
	}
	if err := (notify.Config{Shop: m.shop()}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("ECOLAURA_SHOP_NAME, ECOLAURA_SHOP_URL, ECOLAURA_SUPPORT_EMAIL: %w", err))
	}
	return errs
}

func (m mailConfig) shop() notify.Shop {
	return notify.Shop{Name: m.ShopName, URL: strings.TrimSuffix(m.ShopURL, "/"), SupportEmail: m.SupportEmail}
}

// tokenKey is the key of the mailed tokens: ECOLAURA_SECRET_KEY, or the
// public development key (with a warning).
func (m mailConfig) tokenKey(log *slog.Logger) []byte {
	if m.SecretKey != "" {
		return []byte(m.SecretKey)
	}
	log.Warn("ECOLAURA_SECRET_KEY is not set: mailed links (password reset, email verification) use a PUBLIC DEVELOPMENT KEY; set it in production")
	return developmentKey
}

// mailer builds the mailer and describes it for the first log line
// (without the password): SMTP when ECOLAURA_SMTP_URL is set, else the log
// mailer on logger.
func (m mailConfig) mailer(logger *slog.Logger, tp trace.TracerProvider) (ports.Mailer, string, error) {
	if m.SMTPURL == "" {
		return ecomail.NewLogMailer(logger), "log mailer (nothing is sent; set ECOLAURA_SMTP_URL)", nil
	}
	cfg, err := ecomail.ParseURL(m.SMTPURL, m.From)
	if err != nil {
		return nil, "", fmt.Errorf("ECOLAURA_SMTP_URL: %w", err)
	}
	sm, err := ecomail.NewSMTPMailer(cfg, ecomail.WithLogger(logger), ecomail.WithTracerProvider(tp))
	if err != nil {
		return nil, "", fmt.Errorf("ECOLAURA_SMTP_URL: %w", err)
	}
	return sm, "smtp mailer " + sm.String(), nil
}

// shopOptions are the shop options of the mail settings: mailer,
// templates (loaded now, so a broken one stops the start), shop info,
// Message-ID domain and token key.
func (m mailConfig) shopOptions(mailer ports.Mailer, log *slog.Logger) ([]shop.Option, error) {
	tpl, err := ecomail.LoadTemplates(m.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("email templates (ECOLAURA_TEMPLATES_DIR): %w", err)
	}
	opts := []shop.Option{shop.WithMailer(mailer), shop.WithTemplates(tpl), shop.WithShopInfo(m.shop()), shop.WithTokenKey(m.tokenKey(log))}
	if a, err := mail.ParseAddress(m.From); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at > 0 {
			opts = append(opts, shop.WithMessageDomain(a.Address[at+1:]))
		}
	}
	return opts, nil
}
