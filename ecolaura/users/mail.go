package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ports"
)

// JobAccountEmail mails a one-time account token (password reset, email
// verification, email change); [AccountMailer] handles it. Payload: the
// token's purpose, its ID, 128 random bits, the user (or, for a reset, the
// address asked for) and the time of the request.
const JobAccountEmail = "send_account_email"

// Paths of the shop's pages the mailed links open, after the shop's URL;
// the token is in the query (?token=…).
const (
	ResetPasswordPath = "/reset-password"
	VerifyEmailPath   = "/verify-email"
)

// MinTokenKeyBytes is the shortest key [WithTokenKey] accepts (256 bits).
const MinTokenKeyBytes = 32

// accountTokenBytes is the size of a mailed token: an HMAC-SHA-256.
const accountTokenBytes = sha256.Size

// accountEmailJob is the payload of [JobAccountEmail].
type accountEmailJob struct {
	Purpose ecolaura.TokenPurpose `json:"purpose"`
	TokenID ecolaura.ID           `json:"token_id"`
	// Nonce is 16 random bytes, base64url: with the server's key it makes
	// the token, the same on every run of the job.
	Nonce string `json:"nonce"`
	// UserID names the account (empty for a reset, found by Email).
	UserID ecolaura.ID `json:"user_id,omitempty"`
	// Email is the address to write to: the one asked for (reset), the
	// account's (verification) or the new one (email change).
	Email       string    `json:"email"`
	RequestedAt time.Time `json:"requested_at"`
}

func (j accountEmailJob) validate() error {
	var v ecolaura.Validator
	v.Check(j.Purpose.Valid(), "purpose", "unknown purpose %q", string(j.Purpose))
	_, err := ecolaura.ParseID(string(j.TokenID))
	v.Check(err == nil, "token_id", "must be an ID")
	n, err := base64.RawURLEncoding.Strict().DecodeString(j.Nonce)
	v.Check(err == nil && len(n) == 16, "nonce", "must be 16 bytes, base64url")
	if j.Purpose != ecolaura.PurposePasswordReset {
		_, err := ecolaura.ParseID(string(j.UserID))
		v.Check(err == nil, "user_id", "must be an ID")
	}
	_, err = ecolaura.NormalizeEmail(j.Email)
	v.Check(err == nil, "email", "must be an email address")
	v.Check(!j.RequestedAt.IsZero(), "requested_at", "must be set")
	return v.Err()
}

// enqueueAccountEmail enqueues the job that mails a new token of purpose to
// email, in tx: the job creates the token (see [AccountMailer]).
func (s *Service) enqueueAccountEmail(ctx context.Context, tx ports.Tx, purpose ecolaura.TokenPurpose, userID ecolaura.ID, email string) error {
	var nonce [16]byte
	if _, err := io.ReadFull(s.cfg.Random, nonce[:]); err != nil {
		return fmt.Errorf("token nonce: %w", err)
	}
	payload, err := json.Marshal(accountEmailJob{
		Purpose: purpose, TokenID: s.ids.NewID(), Nonce: base64.RawURLEncoding.EncodeToString(nonce[:]),
		UserID: userID, Email: email, RequestedAt: s.clock.Now().UTC().Truncate(time.Microsecond),
	})
	if err != nil {
		return fmt.Errorf("encode %s job: %w", JobAccountEmail, err)
	}
	if err := tx.Jobs().Enqueue(ctx, ports.Job{Kind: JobAccountEmail, Payload: payload}); err != nil {
		return fmt.Errorf("enqueue %s job: %w", JobAccountEmail, err)
	}
	return nil
}

// HashAccountToken returns the stored form of a mailed token: the hex
// SHA-256 of its text.
func HashAccountToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedAccountToken reports whether token can be one of ours (43
// base64url characters), so garbage never reaches the store.
func wellFormedAccountToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(accountTokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil
}

// deriveToken makes the token of a job: HMAC-SHA-256 under the server's
// key of the purpose, the token's ID and the job's random nonce.
func deriveToken(key []byte, j accountEmailJob) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("ecolaura account token v1\x00" + string(j.Purpose) + "\x00" + string(j.TokenID) + "\x00" + j.Nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// AccountMailer runs [JobAccountEmail]: it creates the job's one-time
// token, if the request still stands, and mails its link through the
// notifier. It implements [ports.JobHandler] and is safe for concurrent
// use.
//
// The token is derived, not stored: HMAC-SHA-256, under a server key, of
// the token's ID and 128 random bits that travel in the job. The store
// keeps only its SHA-256, and the job's payload alone does not give it
// away; yet every run of the job (a retry after a failed send, on any
// worker with the same key) mails the same link with the same Message-ID.
// Every process that runs these jobs must therefore share the key
// ([WithTokenKey]; the reference server's ECOLAURA_SECRET_KEY); a run that
// derives a token the store does not know fails and is retried, never
// mails a link that cannot work.
//
// What runs the job decides, with the account locked (GetForUpdate), so
// that requests racing each other or a password change cannot both win:
// nothing is mailed for an email without an account (a reset request), a
// disabled account, a request older than the account's last password
// change (a reset) or than a newer request of the same kind, an address
// that changed since (a verification), an already verified address, or a
// request whose token has expired; creating the token revokes the older
// ones of its kind.
type AccountMailer struct {
	db       ports.Database
	notifier *notify.Notifier
	clock    ports.Clock
	key      []byte
	log      *slog.Logger
}

var _ ports.JobHandler = (*AccountMailer)(nil)

type mailerConfig struct {
	key []byte
	log *slog.Logger
}

// MailerOption configures an [AccountMailer].
type MailerOption func(*mailerConfig)

// WithTokenKey sets the key mailed tokens are derived with (at least
// [MinTokenKeyBytes]); every process running the account email jobs of one
// database needs the same. Default: a random key of this AccountMailer,
// enough when one process runs every job (the in-memory shop).
func WithTokenKey(key []byte) MailerOption {
	return func(c *mailerConfig) { c.key = append([]byte(nil), key...) }
}

// WithMailerLogger sets the logger (default: discard).
func WithMailerLogger(l *slog.Logger) MailerOption { return func(c *mailerConfig) { c.log = l } }

// NewAccountMailer returns the handler of the account email jobs of db,
// sending through notifier and deciding expiry with clock. Errors: an
// *ecolaura.ConfigError for a nil dependency or a key shorter than
// MinTokenKeyBytes; the error of reading a random key.
func NewAccountMailer(db ports.Database, notifier *notify.Notifier, clock ports.Clock, opts ...MailerOption) (*AccountMailer, error) {
	var cfg mailerConfig
	for _, o := range opts {
		o(&cfg)
	}
	var v ecolaura.Validator
	v.Check(db != nil, "database", "is required")
	v.Check(notifier != nil, "notifier", "is required")
	v.Check(clock != nil, "clock", "is required")
	v.Check(cfg.key == nil || len(cfg.key) >= MinTokenKeyBytes, "token_key", "must be at least %d bytes", MinTokenKeyBytes)
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("account mailer: %w", err)
	}
	if cfg.key == nil {
		cfg.key = make([]byte, MinTokenKeyBytes)
		if _, err := rand.Read(cfg.key); err != nil {
			return nil, fmt.Errorf("account mailer: token key: %w", err)
		}
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	return &AccountMailer{db: db, notifier: notifier, clock: clock, key: cfg.key, log: cfg.log.With("component", "account-mailer")}, nil
}

// JobKinds returns the job kinds the mailer handles.
func (m *AccountMailer) JobKinds() []string { return []string{JobAccountEmail} }

// errKeyMismatch: the token of this run is not the one an earlier run
// stored; the processes do not share the token key.
var errKeyMismatch = errors.New("the stored token was derived with another key: every process running account emails needs the same token key")

// HandleJob runs [JobAccountEmail]; see [AccountMailer]. Errors: an error
// matching ports.ErrPermanent for a payload that can never work or a
// message refused for good; ErrInvalid for another kind; the stores' and
// the notifier's other errors, which are retried.
func (m *AccountMailer) HandleJob(ctx context.Context, job ports.Job) error {
	if job.Kind != JobAccountEmail {
		return fmt.Errorf("users: unknown job kind %q: %w", job.Kind, ecolaura.ErrInvalid)
	}
	var j accountEmailJob
	if err := json.Unmarshal(job.Payload, &j); err != nil {
		return ports.Permanent(fmt.Errorf("users: %s payload: %w", job.Kind, ecolaura.Invalid("payload", "%s", err.Error())))
	}
	if err := j.validate(); err != nil {
		return ports.Permanent(fmt.Errorf("users: %s payload: %w", job.Kind, err))
	}
	token := deriveToken(m.key, j)
	var email *notify.Email
	err := m.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		var err error
		email, err = m.issue(ctx, tx, j, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("users: %s %s: %w", job.Kind, j.Purpose, err)
	}
	if email == nil {
		return nil
	}
	if err := m.notifier.Send(ctx, *email); err != nil {
		return fmt.Errorf("users: %s %s: %w", job.Kind, j.Purpose, err)
	}
	return nil
}

// issue decides, in tx with the account locked, whether the request
// stands, stores its token if this is the first run, and returns the email
// to send (nil: nothing to send).
func (m *AccountMailer) issue(ctx context.Context, tx ports.Tx, j accountEmailJob, token string) (*notify.Email, error) {
	now := m.clock.Now()
	userID := j.UserID
	if j.Purpose == ecolaura.PurposePasswordReset {
		u, err := tx.Users().GetByEmail(ctx, j.Email)
		if errors.Is(err, ecolaura.ErrNotFound) {
			m.log.DebugContext(ctx, "password reset for an email without an account: nothing sent")
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		userID = u.ID
	}
	u, err := tx.Users().GetForUpdate(ctx, userID)
	if errors.Is(err, ecolaura.ErrNotFound) {
		return nil, nil // deleted meanwhile
	}
	if err != nil {
		return nil, err
	}
	skip := func(why string) (*notify.Email, error) {
		m.log.InfoContext(ctx, "account email not sent: "+why, "purpose", j.Purpose, "token_id", j.TokenID, "user_id", u.ID)
		return nil, nil
	}
	switch {
	case !u.Active():
		return skip("account disabled")
	case j.Purpose == ecolaura.PurposePasswordReset && (u.Email != j.Email || u.PasswordChangedAt.After(j.RequestedAt)):
		return skip("the password or the address changed after the request")
	case j.Purpose == ecolaura.PurposeVerifyEmail && (u.Email != j.Email || u.EmailVerified()):
		return skip("the address changed or is verified")
	case j.Purpose == ecolaura.PurposeEmailChange && u.Email == j.Email:
		return skip("the account already has this address")
	}
	hash := HashAccountToken(token)
	t, err := tx.AccountTokens().Get(ctx, j.TokenID)
	switch {
	case err == nil:
		// A later run of the job: the token exists.
		if t.Hash != hash {
			return nil, errKeyMismatch
		}
		if !t.Live(now) {
			return skip("the token was used, revoked or has expired")
		}
	case errors.Is(err, ecolaura.ErrNotFound):
		latest, err := tx.AccountTokens().Latest(ctx, u.ID, j.Purpose)
		if err == nil && (latest.CreatedAt.After(j.RequestedAt) || (latest.CreatedAt.Equal(j.RequestedAt) && latest.ID > j.TokenID)) {
			return skip("a newer request superseded it")
		}
		if err != nil && !errors.Is(err, ecolaura.ErrNotFound) {
			return nil, err
		}
		t = ecolaura.AccountToken{ID: j.TokenID, UserID: u.ID, Purpose: j.Purpose, Hash: hash, Email: j.Email,
			CreatedAt: j.RequestedAt, ExpiresAt: j.RequestedAt.Add(ecolaura.AccountTokenTTL)}
		if !t.Live(now) {
			return skip("the request expired before it could be mailed")
		}
		if err := tx.AccountTokens().Create(ctx, t); err != nil {
			return nil, err
		}
		if _, err := tx.AccountTokens().Revoke(ctx, u.ID, j.Purpose, t.ID, now); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	name := strings.TrimSpace(u.Name)
	if name == "" {
		name = "there"
	}
	minutes := int(ecolaura.AccountTokenTTL / time.Minute)
	e := &notify.Email{EntityID: t.ID, To: j.Email}
	switch j.Purpose {
	case ecolaura.PurposePasswordReset:
		e.Kind, e.Data = notify.PasswordReset, notify.PasswordResetData{Name: name, Link: m.notifier.Link(ResetPasswordPath, token), Token: token, ValidMinutes: minutes}
	case ecolaura.PurposeVerifyEmail:
		e.Kind, e.Data = notify.VerifyEmail, notify.VerifyEmailData{Name: name, Email: j.Email, Link: m.notifier.Link(VerifyEmailPath, token), Token: token, ValidMinutes: minutes}
	case ecolaura.PurposeEmailChange:
		e.Kind, e.Data = notify.EmailChange, notify.EmailChangeData{Name: name, OldEmail: u.Email, NewEmail: j.Email, Link: m.notifier.Link(VerifyEmailPath, token), Token: token, ValidMinutes: minutes}
	}
	return e, nil
}
