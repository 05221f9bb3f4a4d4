// Package users is the accounts and sign-in service of the Ecolaura SDK:
// registration, login with access and rotating refresh tokens, logout,
// customer self-service (profile, password change, password reset, email
// verification and change, export and deletion of one's data), staff
// administration (listing, disabling and enabling accounts, granting and
// revoking the staff role, creating accounts and setting passwords, each
// recorded in the audit log), and the account emails' job handler
// ([AccountMailer]).
//
// Security properties:
//   - Emails are normalised (trimmed, lower-case) and unique
//     case-insensitively; passwords follow [ecolaura.ValidatePassword]
//     (10–256 bytes, not the email) and are stored only as hashes made by the
//     [ports.PasswordHasher] (Argon2id in production), rehashed on login when
//     the hasher's parameters have been raised.
//   - Login returns the same error ([ecolaura.ErrUnauthenticated]) for an
//     unknown email and a wrong password, and spends the same work on both:
//     an unknown email is checked against a dummy hash made with the current
//     parameters.
//   - Refresh tokens are opaque 256-bit random strings (base64url), stored
//     only as their hex SHA-256. Each refresh rotates the token (single use);
//     presenting a token that was already used revokes its whole family
//     (reuse detection, as in the OAuth 2.0 Security BCP), so a stolen
//     token stops working for both parties. A family lives at most the
//     refresh lifetime (14 days by default) from login, however often it is
//     rotated. Logout revokes the family; a password change revokes every
//     other family of the user (the session that changed it stays signed
//     in); a password reset, disabling the account and deleting it revoke
//     them all.
//   - Access tokens are stateless and live 15 minutes (the jwt adapter's
//     default), but [Service.CurrentPrincipal] checks the account behind a
//     token: a deleted or disabled account, or a revoked staff role, stops
//     working at once in the process that made the change and within
//     [DefaultStatusCacheTTL] (5 s) in every other one.
//   - Mailed one-time tokens (password reset, email verification, email
//     change) carry 256 bits derived by HMAC-SHA-256 from 128 random bits
//     and a server key (see [AccountMailer]); only their SHA-256 is stored.
//     They work once, for 30 minutes ([ecolaura.AccountTokenTTL]), and a
//     newer request of the same kind or a password change voids them.
//   - Enumeration: a password-reset request does the same work whether or
//     not the email has an account (it only enqueues a job; the job looks
//     the account up), and sign-in answers alike for an unknown email, a
//     wrong password and a disabled account. Registration must say that an
//     email is taken (the account cannot be created otherwise), and so does
//     an email change; both need the caller to choose a password or know
//     one, and the HTTP adapter rate-limits them per IP.
//
// The service depends only on the domain and the ports.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Defaults and bounds.
const (
	// DefaultRefreshTTL is the absolute lifetime of a refresh-token family.
	DefaultRefreshTTL = 14 * 24 * time.Hour
	// MinRefreshTTL and MaxRefreshTTL bound the configurable lifetime.
	MinRefreshTTL = time.Hour
	MaxRefreshTTL = 90 * 24 * time.Hour
	// refreshTokenBytes is the entropy of a refresh token (256 bits).
	refreshTokenBytes = 32
	// updateRetries bounds read-modify-write retries after a version conflict.
	updateRetries = 16
	// DefaultStatusCacheTTL is how long CurrentPrincipal trusts what it read
	// of an account.
	DefaultStatusCacheTTL = 5 * time.Second
	// MaxStatusCacheTTL bounds the configurable one.
	MaxStatusCacheTTL = time.Minute
)

// Config holds the optional settings of a [Service]. Build it with
// [Option]s passed to [New].
type Config struct {
	// Logger receives security events (token reuse, rehash failures); nil
	// discards them.
	Logger *slog.Logger
	// RefreshTTL is the absolute lifetime of a refresh-token family.
	RefreshTTL time.Duration
	// Random is the source of refresh tokens and of the randomness of
	// mailed tokens (crypto/rand when nil).
	Random io.Reader
	// StatusCacheTTL is how long CurrentPrincipal trusts what it read of an
	// account (0 reads the store on every call).
	StatusCacheTTL time.Duration
}

// Validate reports out-of-range settings as an *ecolaura.ConfigError.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(c.RefreshTTL >= MinRefreshTTL && c.RefreshTTL <= MaxRefreshTTL, "refresh_ttl", "must be between %s and %s", MinRefreshTTL, MaxRefreshTTL)
	v.Check(c.StatusCacheTTL >= 0 && c.StatusCacheTTL <= MaxStatusCacheTTL, "status_cache_ttl", "must be between 0 and %s", MaxStatusCacheTTL)
	return v.ConfigErr()
}

// Option configures a [Service].
type Option func(*Config)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(cfg *Config) { cfg.Logger = l } }

// WithRefreshTTL sets the absolute lifetime of a refresh-token family
// (default [DefaultRefreshTTL]).
func WithRefreshTTL(d time.Duration) Option { return func(cfg *Config) { cfg.RefreshTTL = d } }

// WithRandom sets the source of refresh tokens and of the randomness of
// mailed tokens (default crypto/rand).
func WithRandom(r io.Reader) Option { return func(cfg *Config) { cfg.Random = r } }

// WithStatusCacheTTL sets how long CurrentPrincipal trusts what it read of
// an account (default [DefaultStatusCacheTTL]; 0 reads it every time).
func WithStatusCacheTTL(d time.Duration) Option { return func(cfg *Config) { cfg.StatusCacheTTL = d } }

// Service runs the account use cases. It is safe for concurrent use.
type Service struct {
	db     ports.Database
	hasher ports.PasswordHasher
	tokens ports.TokenIssuer
	clock  ports.Clock
	ids    ports.IDGenerator
	cfg    Config
	log    *slog.Logger

	dummyMu   sync.Mutex
	dummyHash string

	status statusCache
}

// New returns a users service over db that hashes passwords with hasher,
// signs access tokens with tokens, stamps times (and decides token expiry)
// with clock and names users and tokens with ids. It returns an
// *ecolaura.ConfigError when a dependency is nil or a setting is out of
// range.
func New(db ports.Database, hasher ports.PasswordHasher, tokens ports.TokenIssuer, clock ports.Clock, ids ports.IDGenerator, opts ...Option) (*Service, error) {
	cfg := Config{RefreshTTL: DefaultRefreshTTL, StatusCacheTTL: DefaultStatusCacheTTL}
	for _, o := range opts {
		o(&cfg)
	}
	var v ecolaura.Validator
	v.Required("database", db)
	v.Required("hasher", hasher)
	v.Required("tokens", tokens)
	v.Required("clock", clock)
	v.Required("ids", ids)
	v.Merge("", cfg.Validate())
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, hasher: hasher, tokens: tokens, clock: clock, ids: ids, cfg: cfg, log: log.With("service", "users"),
		status: statusCache{entries: map[ecolaura.ID]statusEntry{}}}, nil
}

// RegisterInput is a new customer account.
type RegisterInput struct {
	Email    string
	Name     string
	Password string
}

// Validate checks the input as [Service.Register] does before looking at
// any store and returns a *ecolaura.ValidationError naming every invalid
// field ("email", "name", "password"), or nil. Whether the email is taken
// is only known to Register.
func (in RegisterInput) Validate() error {
	return validateAccount(in.Email, in.Name, in.Password)
}

func validateAccount(email, name, password string) error {
	var v ecolaura.Validator
	normalized, err := ecolaura.NormalizeEmail(email)
	v.Merge("", err)
	v.Merge("", ecolaura.ValidateUserName(name))
	v.Merge("", ecolaura.ValidatePassword(password, normalized))
	return v.Err()
}

// Register creates a customer account and, in the same transaction,
// enqueues the email that verifies its address ([JobAccountEmail]).
// Errors: a *ecolaura.ValidationError (ErrInvalid) naming every invalid
// field of email, name and password; an *ecolaura.ConflictError on field
// "email" (ErrConflict) for an email that is already registered, in any
// letter case.
func (s *Service) Register(ctx context.Context, in RegisterInput) (ecolaura.User, error) {
	u, err := s.create(ctx, in.Email, in.Name, in.Password, ecolaura.RoleCustomer, nil)
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("register: %w", err)
	}
	s.log.InfoContext(ctx, "user registered", slog.String("user_id", string(u.ID)))
	return u, nil
}

// create makes an account: the user, the job mailing its verification and,
// when by is not nil (staff or the operator made it), an audit event, in
// one transaction.
func (s *Service) create(ctx context.Context, email, name, password string, role ecolaura.Role, by *ecolaura.Principal) (ecolaura.User, error) {
	if err := validateAccount(email, name, password); err != nil {
		return ecolaura.User{}, err
	}
	normalized, _ := ecolaura.NormalizeEmail(email)
	// Cheap check first so a taken email costs no hashing; the store's
	// unique constraint decides races.
	if _, err := s.db.Users().GetByEmail(ctx, normalized); err == nil {
		return ecolaura.User{}, emailTaken()
	} else if !errors.Is(err, ecolaura.ErrNotFound) {
		return ecolaura.User{}, fmt.Errorf("look up email: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("hash password: %w", err)
	}
	now := s.clock.Now()
	u := ecolaura.User{
		ID:                s.ids.NewID(),
		Email:             normalized,
		Name:              strings.TrimSpace(name),
		PasswordHash:      hash,
		Role:              role,
		CreatedAt:         now,
		UpdatedAt:         now,
		Version:           1,
		PasswordChangedAt: now,
	}
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if err := tx.Users().Create(ctx, u); err != nil {
			return err
		}
		if err := s.enqueueAccountEmail(ctx, tx, ecolaura.PurposeVerifyEmail, u.ID, u.Email); err != nil {
			return err
		}
		if by == nil {
			return nil
		}
		var d ecolaura.AuditDiff
		d.Set("role", string(role))
		return s.audit(ctx, tx, *by, ecolaura.ActionCreate, u.ID, d)
	})
	if err != nil {
		if errors.Is(err, ecolaura.ErrConflict) {
			if _, gerr := s.db.Users().GetByEmail(ctx, normalized); gerr == nil {
				return ecolaura.User{}, emailTaken()
			}
		}
		return ecolaura.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// emailTaken is the error of an email that is already registered.
func emailTaken() error { return &ecolaura.ConflictError{Field: "email"} }

// Credentials are an email and a password presented at login.
type Credentials struct {
	Email    string
	Password string
}

// TokenPair is what a login or refresh returns.
type TokenPair struct {
	// AccessToken is a short-lived signed bearer token.
	AccessToken     string
	AccessExpiresAt time.Time
	// RefreshToken is opaque; exchange it with [Service.Refresh] before
	// RefreshExpiresAt (the absolute end of its family).
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// Login checks credentials and starts a new refresh-token family. An
// unknown email, a wrong password, a malformed email and an over-long
// password all return an error matching ErrUnauthenticated; an unknown email
// is verified against a dummy hash so it costs as much as a wrong password.
// When the stored hash uses weaker parameters than the hasher's current
// ones it is replaced. Other errors come from the stores or the token issuer.
func (s *Service) Login(ctx context.Context, c Credentials) (TokenPair, error) {
	email, err := ecolaura.NormalizeEmail(c.Email)
	if err != nil || len(c.Password) > ecolaura.MaxPasswordBytes {
		// Public properties of the input, not of any account: no hashing.
		return TokenPair{}, fmt.Errorf("login: %w", ecolaura.ErrUnauthenticated)
	}
	u, err := s.db.Users().GetByEmail(ctx, email)
	if errors.Is(err, ecolaura.ErrNotFound) {
		if derr := s.verifyDummy(ctx, c.Password); derr != nil {
			return TokenPair{}, fmt.Errorf("login: %w", derr)
		}
		return TokenPair{}, fmt.Errorf("login: %w", ecolaura.ErrUnauthenticated)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	ok, rehash, err := s.hasher.Verify(ctx, c.Password, u.PasswordHash)
	if err != nil {
		if ctx.Err() != nil {
			return TokenPair{}, fmt.Errorf("login: %w", err)
		}
		s.log.ErrorContext(ctx, "stored password hash cannot be verified", slog.String("user_id", string(u.ID)), slog.Any("error", err))
		return TokenPair{}, fmt.Errorf("login: %w", ecolaura.ErrUnauthenticated)
	}
	if !ok {
		return TokenPair{}, fmt.Errorf("login: %w", ecolaura.ErrUnauthenticated)
	}
	if !u.Active() {
		// Answered as a wrong password: the same error, the same work.
		s.log.InfoContext(ctx, "sign-in of a disabled account refused", slog.String("user_id", string(u.ID)))
		return TokenPair{}, fmt.Errorf("login: account disabled: %w", ecolaura.ErrUnauthenticated)
	}
	if rehash {
		s.rehash(ctx, u, c.Password)
	}
	var pair TokenPair
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		now := s.clock.Now()
		p, err := s.issue(ctx, tx, u, family{id: s.ids.NewID(), expiresAt: now.Add(s.cfg.RefreshTTL)})
		pair = p
		return err
	})
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	return pair, nil
}

// Warm computes the dummy hash that logins with an unknown email are checked
// against, so that even the first such login costs no more than a wrong
// password. Calling it is optional (the hash is otherwise made on first
// use); servers call it at start. Errors come from the hasher.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.dummy(ctx)
	return err
}

func (s *Service) dummy(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummyHash != "" {
		return s.dummyHash, nil
	}
	var buf [refreshTokenBytes]byte
	if _, err := io.ReadFull(s.cfg.Random, buf[:]); err != nil {
		return "", fmt.Errorf("dummy password: %w", err)
	}
	h, err := s.hasher.Hash(ctx, base64.RawURLEncoding.EncodeToString(buf[:]))
	if err != nil {
		return "", fmt.Errorf("dummy hash: %w", err)
	}
	s.dummyHash = h
	return h, nil
}

// verifyDummy spends one password verification against a hash made with the
// hasher's current parameters, for an unknown email.
func (s *Service) verifyDummy(ctx context.Context, password string) error {
	hash, err := s.dummy(ctx)
	if err != nil {
		return err
	}
	if _, _, err := s.hasher.Verify(ctx, password, hash); err != nil {
		return fmt.Errorf("dummy verify: %w", err)
	}
	return nil
}

// rehash replaces u's hash after a successful login; failures are logged and
// do not fail the login (the next login tries again).
func (s *Service) rehash(ctx context.Context, u ecolaura.User, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", slog.String("user_id", string(u.ID)), slog.Any("error", err))
		return
	}
	u.PasswordHash = hash
	u.UpdatedAt = s.clock.Now()
	if _, err := s.db.Users().Update(ctx, u); err != nil {
		// A concurrent change (another login's rehash, a password or
		// profile change) won; the hash stays valid.
		s.log.InfoContext(ctx, "password rehash skipped", slog.String("user_id", string(u.ID)), slog.Any("error", err))
		return
	}
	s.log.InfoContext(ctx, "password rehashed with current parameters", slog.String("user_id", string(u.ID)))
}

// family is a refresh-token family: tokens rotated from one login, all
// ending at the same absolute time.
type family struct {
	id        ecolaura.ID
	expiresAt time.Time
}

// issue signs an access token for u and stores a new refresh token of
// family f.
func (s *Service) issue(ctx context.Context, tx ports.Tx, u ecolaura.User, f family) (TokenPair, error) {
	now := s.clock.Now()
	p := u.Principal()
	p.SessionID = f.id
	at, err := s.tokens.Issue(ctx, p)
	if err != nil {
		return TokenPair{}, fmt.Errorf("issue access token: %w", err)
	}
	var raw [refreshTokenBytes]byte
	if _, err := io.ReadFull(s.cfg.Random, raw[:]); err != nil {
		return TokenPair{}, fmt.Errorf("refresh token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	rt := ecolaura.RefreshToken{
		ID:        s.ids.NewID(),
		FamilyID:  f.id,
		UserID:    u.ID,
		Hash:      HashRefreshToken(token),
		IssuedAt:  now,
		ExpiresAt: f.expiresAt,
	}
	if err := tx.RefreshTokens().Create(ctx, rt); err != nil {
		return TokenPair{}, fmt.Errorf("store refresh token: %w", err)
	}
	return TokenPair{
		AccessToken:      at.Token,
		AccessExpiresAt:  at.ExpiresAt,
		RefreshToken:     token,
		RefreshExpiresAt: f.expiresAt,
	}, nil
}

// HashRefreshToken returns the stored form of a refresh token: the hex
// SHA-256 of its text.
func HashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedRefreshToken reports whether token can be one of ours (43
// base64url characters), so garbage never reaches the store.
func wellFormedRefreshToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil
}

// errReuse marks a refresh token that was presented after it had been used.
var errReuse = errors.New("refresh token reused")

// Refresh exchanges a refresh token for a new pair, rotating it: the token
// is single use, its successor belongs to the same family and expires with
// it. Presenting a token that was already used (including the loser of two
// concurrent refreshes of one token) is treated as theft: the whole family is
// revoked, so its newest token stops working too. Errors: ErrUnauthenticated
// for an unknown, malformed, used, revoked or expired token, or one whose
// user no longer exists or is disabled.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (TokenPair, error) {
	if !wellFormedRefreshToken(refreshToken) {
		return TokenPair{}, fmt.Errorf("refresh: %w", ecolaura.ErrUnauthenticated)
	}
	hash := HashRefreshToken(refreshToken)
	var (
		pair   TokenPair
		reused ecolaura.RefreshToken
	)
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		now := s.clock.Now()
		rt, err := tx.RefreshTokens().GetByHash(ctx, hash)
		if errors.Is(err, ecolaura.ErrNotFound) {
			return ecolaura.ErrUnauthenticated
		}
		if err != nil {
			return fmt.Errorf("load refresh token: %w", err)
		}
		switch {
		case rt.RevokedAt != nil:
			return fmt.Errorf("token revoked: %w", ecolaura.ErrUnauthenticated)
		case rt.UsedAt != nil:
			reused = rt
			return errReuse
		case !now.Before(rt.ExpiresAt):
			return fmt.Errorf("token expired: %w", ecolaura.ErrUnauthenticated)
		}
		won, err := tx.RefreshTokens().MarkUsed(ctx, rt.ID, now)
		if err != nil {
			return fmt.Errorf("mark refresh token used: %w", err)
		}
		if !won {
			reused = rt
			return errReuse
		}
		u, err := tx.Users().Get(ctx, rt.UserID)
		if errors.Is(err, ecolaura.ErrNotFound) {
			return fmt.Errorf("user gone: %w", ecolaura.ErrUnauthenticated)
		}
		if err != nil {
			return fmt.Errorf("load user: %w", err)
		}
		if !u.Active() {
			return fmt.Errorf("account disabled: %w", ecolaura.ErrUnauthenticated)
		}
		pair, err = s.issue(ctx, tx, u, family{id: rt.FamilyID, expiresAt: rt.ExpiresAt})
		return err
	})
	if errors.Is(err, errReuse) {
		// Revoke outside the failed transaction so the revocation commits.
		if rerr := s.db.RefreshTokens().RevokeFamily(ctx, reused.FamilyID, s.clock.Now()); rerr != nil {
			return TokenPair{}, fmt.Errorf("refresh: revoke reused family: %w", rerr)
		}
		s.log.WarnContext(ctx, "refresh token reuse detected; family revoked",
			slog.String("user_id", string(reused.UserID)), slog.String("family_id", string(reused.FamilyID)))
		return TokenPair{}, fmt.Errorf("refresh: token already used: %w", ecolaura.ErrUnauthenticated)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	return pair, nil
}

// Logout revokes the family of refreshToken (every token rotated from the
// same login). Logging out twice is fine. Errors: ErrUnauthenticated for a
// malformed or unknown token.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if !wellFormedRefreshToken(refreshToken) {
		return fmt.Errorf("logout: %w", ecolaura.ErrUnauthenticated)
	}
	rt, err := s.db.RefreshTokens().GetByHash(ctx, HashRefreshToken(refreshToken))
	if errors.Is(err, ecolaura.ErrNotFound) {
		return fmt.Errorf("logout: %w", ecolaura.ErrUnauthenticated)
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if err := s.db.RefreshTokens().RevokeFamily(ctx, rt.FamilyID, s.clock.Now()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Get returns a user. A customer may read only itself; staff may read
// anyone. Errors: ErrUnauthenticated for an anonymous actor; ErrNotFound for
// a missing user and for another user when the actor is a customer (so
// customers cannot probe which IDs exist).
func (s *Service) Get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.User, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ecolaura.User{}, fmt.Errorf("get user: %w", err)
	}
	if !actor.IsStaff() && actor.UserID != id {
		return ecolaura.User{}, fmt.Errorf("get user %s: %w", id, ecolaura.ErrNotFound)
	}
	u, err := s.db.Users().Get(ctx, id)
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// Me returns the actor's own account. Errors: ErrUnauthenticated for an
// anonymous actor; ErrNotFound when the actor has no account (the System
// principal, or a deleted user).
func (s *Service) Me(ctx context.Context, actor ecolaura.Principal) (ecolaura.User, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ecolaura.User{}, fmt.Errorf("me: %w", err)
	}
	if actor.UserID == "" {
		return ecolaura.User{}, fmt.Errorf("me: no account: %w", ecolaura.ErrNotFound)
	}
	return s.Get(ctx, actor, actor.UserID)
}

// ProfilePatch changes the actor's profile; nil fields stay as they are.
type ProfilePatch struct {
	Name *string
}

// UpdateProfile applies patch to the actor's own account and returns it.
// Errors: ErrUnauthenticated for an anonymous actor; ErrNotFound when the
// actor has no account; a *ecolaura.ValidationError for an invalid name;
// ErrConflict when concurrent edits keep winning.
func (s *Service) UpdateProfile(ctx context.Context, actor ecolaura.Principal, patch ProfilePatch) (ecolaura.User, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ecolaura.User{}, fmt.Errorf("update profile: %w", err)
	}
	if actor.UserID == "" {
		return ecolaura.User{}, fmt.Errorf("update profile: no account: %w", ecolaura.ErrNotFound)
	}
	if patch.Name != nil {
		if err := ecolaura.ValidateUserName(*patch.Name); err != nil {
			return ecolaura.User{}, fmt.Errorf("update profile: %w", err)
		}
	}
	var err error
	for range updateRetries {
		var u ecolaura.User
		u, err = s.db.Users().Get(ctx, actor.UserID)
		if err != nil {
			return ecolaura.User{}, fmt.Errorf("update profile: %w", err)
		}
		if patch.Name == nil {
			return u, nil
		}
		u.Name = strings.TrimSpace(*patch.Name)
		u.UpdatedAt = s.clock.Now()
		u, err = s.db.Users().Update(ctx, u)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, ecolaura.ErrConflict) {
			break
		}
	}
	return ecolaura.User{}, fmt.Errorf("update profile: %w", err)
}

// PasswordChange is the current and the new password.
type PasswordChange struct {
	Current string
	New     string
}

// ChangePassword replaces the actor's password and revokes the user's
// refresh tokens of every session but the actor's own (actor.SessionID:
// the one that changed the password stays signed in; without a session
// every one is revoked), and any password-reset token mailed before.
// Access tokens of the other sessions run out on their own (15 minutes).
// Errors: ErrUnauthenticated for an anonymous actor;
// ErrNotFound when the actor has no account; a *ecolaura.ValidationError on
// "current_password" when it is wrong and on "password" when the new one
// breaks the policy; ErrConflict when the password was changed concurrently.
func (s *Service) ChangePassword(ctx context.Context, actor ecolaura.Principal, in PasswordChange) error {
	if err := actor.RequireAuthenticated(); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if actor.UserID == "" {
		return fmt.Errorf("change password: no account: %w", ecolaura.ErrNotFound)
	}
	u, err := s.db.Users().Get(ctx, actor.UserID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if err := ecolaura.ValidatePassword(in.New, u.Email); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	ok := false
	if len(in.Current) <= ecolaura.MaxPasswordBytes {
		ok, _, err = s.hasher.Verify(ctx, in.Current, u.PasswordHash)
		if err != nil {
			return fmt.Errorf("change password: verify: %w", err)
		}
	}
	if !ok {
		return fmt.Errorf("change password: %w", ecolaura.Invalid("current_password", "is incorrect"))
	}
	hash, err := s.hasher.Hash(ctx, in.New)
	if err != nil {
		return fmt.Errorf("change password: hash: %w", err)
	}
	verified := u.PasswordHash
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		cur, err := tx.Users().Get(ctx, actor.UserID)
		if err != nil {
			return err
		}
		if cur.PasswordHash != verified {
			return fmt.Errorf("password changed concurrently: %w", ecolaura.ErrConflict)
		}
		now := s.clock.Now()
		cur.PasswordHash = hash
		cur.UpdatedAt, cur.PasswordChangedAt = now, now
		if _, err := tx.Users().Update(ctx, cur); err != nil {
			return err
		}
		if _, err := tx.AccountTokens().Revoke(ctx, cur.ID, ecolaura.PurposePasswordReset, "", now); err != nil {
			return err
		}
		return tx.RefreshTokens().RevokeOtherFamilies(ctx, cur.ID, actor.SessionID, now)
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.log.InfoContext(ctx, "password changed; other sessions revoked", slog.String("user_id", string(actor.UserID)))
	return nil
}

// StaffAccount is the staff account the server bootstrap ensures.
type StaffAccount struct {
	Email    string
	Name     string
	Password string
}

// EnsureStaff creates a staff account with the given email, name and
// password unless one with that email exists, and reports whether it created
// it. It is a trusted bootstrap operation for the composition root (the
// server's ECOLAURA_ADMIN_EMAIL / ECOLAURA_ADMIN_PASSWORD), not a use case
// for callers acting as a user.
//
// An existing staff account is returned unchanged (its password is not
// reset). An existing customer account with that email is NOT promoted:
// anyone could have registered the address before the bootstrap ran, and
// promoting it would hand staff rights to whoever chose its password; an
// error matching ErrConflict is returned instead so the operator can
// resolve it. Errors: a *ecolaura.ValidationError for an invalid email, name
// or password; ErrConflict as described.
func (s *Service) EnsureStaff(ctx context.Context, acc StaffAccount) (ecolaura.User, bool, error) {
	email, err := ecolaura.NormalizeEmail(acc.Email)
	if err != nil {
		return ecolaura.User{}, false, fmt.Errorf("ensure staff: %w", err)
	}
	for range 2 {
		u, err := s.db.Users().GetByEmail(ctx, email)
		switch {
		case err == nil && u.Role == ecolaura.RoleStaff:
			return u, false, nil
		case err == nil:
			return ecolaura.User{}, false, fmt.Errorf("ensure staff: %s is registered as a %s account; refusing to promote it: %w", email, u.Role, ecolaura.ErrConflict)
		case !errors.Is(err, ecolaura.ErrNotFound):
			return ecolaura.User{}, false, fmt.Errorf("ensure staff: %w", err)
		}
		sys := ecolaura.System()
		u, err = s.create(ctx, email, acc.Name, acc.Password, ecolaura.RoleStaff, &sys)
		if err == nil {
			s.log.InfoContext(ctx, "staff account created", slog.String("user_id", string(u.ID)))
			return u, true, nil
		}
		if !errors.Is(err, ecolaura.ErrConflict) {
			return ecolaura.User{}, false, fmt.Errorf("ensure staff: %w", err)
		}
		// Lost a race with a concurrent creation: look again.
	}
	return ecolaura.User{}, false, fmt.Errorf("ensure staff: %w", ecolaura.ErrConflict)
}
