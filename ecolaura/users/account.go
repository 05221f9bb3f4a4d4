package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// invalidToken is the one error of a mailed token that cannot be used:
// unknown, malformed, of another kind, used, revoked or expired.
func invalidToken() error { return ecolaura.Invalid("token", "is invalid or has expired") }

// RequestPasswordReset asks for the email that lets the owner of email set
// a new password. It only enqueues [JobAccountEmail]: whether email has an
// account, and which, is decided by the job, so the call does the same
// work, takes the same time and answers the same for every well-formed
// address. Errors: a *ecolaura.ValidationError on "email" for a malformed
// address; store failures.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	normalized, err := ecolaura.NormalizeEmail(email)
	if err != nil {
		return fmt.Errorf("request password reset: %w", err)
	}
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return s.enqueueAccountEmail(ctx, tx, ecolaura.PurposePasswordReset, "", normalized)
	})
	if err != nil {
		return fmt.Errorf("request password reset: %w", err)
	}
	return nil
}

// PasswordReset is a mailed reset token and the new password.
type PasswordReset struct {
	Token       string
	NewPassword string
}

// ResetPassword sets a new password with a mailed reset token, uses the
// token up, revokes every other reset token and every session of the user
// (all must sign in again), and marks the address verified (the token
// proved the owner reads it). Errors: a *ecolaura.ValidationError on
// "token" for a token that is unknown, malformed, used, revoked (by a newer
// request or a password change), expired or of a disabled account, and on
// "password" for a new password that breaks the policy; store failures.
func (s *Service) ResetPassword(ctx context.Context, in PasswordReset) error {
	if !wellFormedAccountToken(in.Token) {
		return fmt.Errorf("reset password: %w", invalidToken())
	}
	t, err := s.db.AccountTokens().GetByHash(ctx, HashAccountToken(in.Token))
	if errors.Is(err, ecolaura.ErrNotFound) {
		return fmt.Errorf("reset password: %w", invalidToken())
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if t.Purpose != ecolaura.PurposePasswordReset || !t.Live(s.clock.Now()) {
		return fmt.Errorf("reset password: %w", invalidToken())
	}
	u, err := s.db.Users().Get(ctx, t.UserID)
	if errors.Is(err, ecolaura.ErrNotFound) {
		return fmt.Errorf("reset password: %w", invalidToken())
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := ecolaura.ValidatePassword(in.NewPassword, u.Email); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return fmt.Errorf("reset password: hash: %w", err)
	}
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		now := s.clock.Now()
		cur, err := tx.Users().GetForUpdate(ctx, t.UserID)
		if errors.Is(err, ecolaura.ErrNotFound) {
			return invalidToken()
		}
		if err != nil {
			return err
		}
		if !cur.Active() || t.CreatedAt.Before(cur.PasswordChangedAt) || !now.Before(t.ExpiresAt) {
			return invalidToken()
		}
		won, err := tx.AccountTokens().Use(ctx, t.ID, now)
		if err != nil {
			return err
		}
		if !won {
			return invalidToken() // used or revoked meanwhile
		}
		cur.PasswordHash = hash
		cur.UpdatedAt, cur.PasswordChangedAt = now, now
		if cur.Email == t.Email && !cur.EmailVerified() {
			cur.EmailVerifiedAt = &now
		}
		if _, err := tx.Users().Update(ctx, cur); err != nil {
			return err
		}
		if _, err := tx.AccountTokens().Revoke(ctx, cur.ID, ecolaura.PurposePasswordReset, "", now); err != nil {
			return err
		}
		return tx.RefreshTokens().RevokeUser(ctx, cur.ID, now)
	})
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	s.log.InfoContext(ctx, "password reset; every session revoked", slog.String("user_id", string(t.UserID)))
	return nil
}

// VerifyEmail uses a mailed verification or email-change token: a
// verification token marks the account's address verified; an
// email-change token moves the account to the address it was mailed to,
// verified, and voids the tokens mailed to the old address (resets and
// verifications). It returns the account. Errors: a
// *ecolaura.ValidationError on "token" for a token that is unknown,
// malformed, of another kind, used, revoked, expired, of a disabled
// account, or (a verification) for an address the account no longer has;
// an *ecolaura.ConflictError on "email" when another account took the new
// address meanwhile; store failures.
func (s *Service) VerifyEmail(ctx context.Context, token string) (ecolaura.User, error) {
	if !wellFormedAccountToken(token) {
		return ecolaura.User{}, fmt.Errorf("verify email: %w", invalidToken())
	}
	t, err := s.db.AccountTokens().GetByHash(ctx, HashAccountToken(token))
	if errors.Is(err, ecolaura.ErrNotFound) {
		return ecolaura.User{}, fmt.Errorf("verify email: %w", invalidToken())
	}
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("verify email: %w", err)
	}
	if (t.Purpose != ecolaura.PurposeVerifyEmail && t.Purpose != ecolaura.PurposeEmailChange) || !t.Live(s.clock.Now()) {
		return ecolaura.User{}, fmt.Errorf("verify email: %w", invalidToken())
	}
	var out ecolaura.User
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		now := s.clock.Now()
		u, err := tx.Users().GetForUpdate(ctx, t.UserID)
		if errors.Is(err, ecolaura.ErrNotFound) {
			return invalidToken()
		}
		if err != nil {
			return err
		}
		if !u.Active() || !now.Before(t.ExpiresAt) || (t.Purpose == ecolaura.PurposeVerifyEmail && u.Email != t.Email) {
			return invalidToken()
		}
		if t.Purpose == ecolaura.PurposeEmailChange {
			other, err := tx.Users().GetByEmail(ctx, t.Email)
			if err == nil && other.ID != u.ID {
				return emailTaken()
			}
			if err != nil && !errors.Is(err, ecolaura.ErrNotFound) {
				return err
			}
		}
		won, err := tx.AccountTokens().Use(ctx, t.ID, now)
		if err != nil {
			return err
		}
		if !won {
			return invalidToken()
		}
		if u.Email == t.Email && u.EmailVerified() {
			out = u
			return nil
		}
		moved := u.Email != t.Email
		u.Email, u.EmailVerifiedAt, u.UpdatedAt = t.Email, &now, now
		if out, err = tx.Users().Update(ctx, u); err != nil {
			if errors.Is(err, ecolaura.ErrConflict) && moved {
				return emailTaken()
			}
			return err
		}
		if !moved {
			return nil
		}
		for _, p := range []ecolaura.TokenPurpose{ecolaura.PurposePasswordReset, ecolaura.PurposeVerifyEmail, ecolaura.PurposeEmailChange} {
			if _, err := tx.AccountTokens().Revoke(ctx, u.ID, p, "", now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("verify email: %w", err)
	}
	s.log.InfoContext(ctx, "email verified", slog.String("user_id", string(t.UserID)), slog.String("purpose", string(t.Purpose)))
	return out, nil
}

// RequestEmailVerification mails the actor a new verification link for the
// account's address (voiding the earlier ones when the job runs). Errors:
// ErrUnauthenticated; ErrNotFound when the actor has no account; a
// *ecolaura.ValidationError on "email" when the address is verified
// already; store failures.
func (s *Service) RequestEmailVerification(ctx context.Context, actor ecolaura.Principal) error {
	u, err := s.Me(ctx, actor)
	if err != nil {
		return fmt.Errorf("request email verification: %w", err)
	}
	if u.EmailVerified() {
		return fmt.Errorf("request email verification: %w", ecolaura.Invalid("email", "is verified already"))
	}
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return s.enqueueAccountEmail(ctx, tx, ecolaura.PurposeVerifyEmail, u.ID, u.Email)
	})
	if err != nil {
		return fmt.Errorf("request email verification: %w", err)
	}
	return nil
}

// EmailChange is a new address for the actor's account and the actor's
// current password.
type EmailChange struct {
	NewEmail string
	Password string
}

// RequestEmailChange mails a confirmation link to a new address; the
// account moves to it when the link is used ([Service.VerifyEmail]), and
// keeps its address until then. The current password is required: an
// access token alone (a stolen one) cannot redirect the account's mail.
// Errors: ErrUnauthenticated; ErrNotFound when the actor has no account; a
// *ecolaura.ValidationError on "email" for a malformed address or the
// current one, and on "current_password" when it is wrong; an
// *ecolaura.ConflictError on "email" when the address has an account;
// store failures.
func (s *Service) RequestEmailChange(ctx context.Context, actor ecolaura.Principal, in EmailChange) error {
	u, err := s.Me(ctx, actor)
	if err != nil {
		return fmt.Errorf("request email change: %w", err)
	}
	email, err := ecolaura.NormalizeEmail(in.NewEmail)
	if err != nil {
		return fmt.Errorf("request email change: %w", err)
	}
	if email == u.Email {
		return fmt.Errorf("request email change: %w", ecolaura.Invalid("email", "is already the address of the account"))
	}
	if err := s.checkPassword(ctx, u, in.Password, "current_password"); err != nil {
		return fmt.Errorf("request email change: %w", err)
	}
	if _, err := s.db.Users().GetByEmail(ctx, email); err == nil {
		return fmt.Errorf("request email change: %w", emailTaken())
	} else if !errors.Is(err, ecolaura.ErrNotFound) {
		return fmt.Errorf("request email change: %w", err)
	}
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return s.enqueueAccountEmail(ctx, tx, ecolaura.PurposeEmailChange, u.ID, email)
	})
	if err != nil {
		return fmt.Errorf("request email change: %w", err)
	}
	s.log.InfoContext(ctx, "email change requested", slog.String("user_id", string(u.ID)))
	return nil
}

// checkPassword verifies password against u's hash and returns a
// *ecolaura.ValidationError on field when it is wrong.
func (s *Service) checkPassword(ctx context.Context, u ecolaura.User, password, field string) error {
	ok := false
	if len(password) <= ecolaura.MaxPasswordBytes {
		var err error
		ok, _, err = s.hasher.Verify(ctx, password, u.PasswordHash)
		if err != nil {
			return fmt.Errorf("verify password: %w", err)
		}
	}
	if !ok {
		return ecolaura.Invalid(field, "is incorrect")
	}
	return nil
}

// AccountExport is every piece of personal data the shop holds about an
// account (GDPR article 15): the profile, the address book and the
// orders, with their lines.
type AccountExport struct {
	User       ecolaura.User
	Addresses  []ecolaura.SavedAddress
	Orders     []ecolaura.Order
	ExportedAt time.Time
}

// exportPage is how many orders one store call reads.
const exportPage = 500

// Export returns the actor's personal data. Errors: ErrUnauthenticated;
// ErrNotFound when the actor has no account; store failures.
func (s *Service) Export(ctx context.Context, actor ecolaura.Principal) (AccountExport, error) {
	u, err := s.Me(ctx, actor)
	if err != nil {
		return AccountExport{}, fmt.Errorf("export: %w", err)
	}
	out := AccountExport{User: u, Orders: []ecolaura.Order{}, ExportedAt: s.clock.Now()}
	if out.Addresses, err = s.db.Addresses().List(ctx, u.ID); err != nil {
		return AccountExport{}, fmt.Errorf("export: addresses: %w", err)
	}
	q := ports.OrderQuery{UserID: u.ID, Limit: exportPage}
	for {
		page, err := s.db.Orders().List(ctx, q)
		if err != nil {
			return AccountExport{}, fmt.Errorf("export: orders: %w", err)
		}
		out.Orders = append(out.Orders, page.Items...)
		if !page.HasMore || len(page.Items) == 0 {
			break
		}
		last := page.Items[len(page.Items)-1]
		q.After = &ports.OrderPosition{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return out, nil
}

// DeleteAccount deletes the actor's account and its personal data (GDPR
// article 17): the profile, the address book, the sessions and the mailed
// tokens go; the
// orders stay for accounting, with their lines and totals, anonymised (no
// longer linked to anyone). An order being placed at the same moment is
// either anonymised too or refused. The password is required. The last
// active staff account cannot delete itself. Errors: ErrUnauthenticated;
// ErrNotFound when the actor has no account; a *ecolaura.ValidationError
// on "password" when it is wrong; an *ecolaura.RuleError (ErrConflict) for
// the last active staff account; store failures.
func (s *Service) DeleteAccount(ctx context.Context, actor ecolaura.Principal, password string) error {
	u, err := s.Me(ctx, actor)
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	if err := s.checkPassword(ctx, u, password, "password"); err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		cur, err := tx.Users().GetForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur.Role == ecolaura.RoleStaff && cur.Active() {
			if err := lastStaffGuard(ctx, tx); err != nil {
				return err
			}
		}
		return tx.Users().Delete(ctx, u.ID)
	})
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	s.status.forget(u.ID)
	s.log.InfoContext(ctx, "account deleted; orders anonymised", slog.String("user_id", string(u.ID)))
	return nil
}

// lastStaffGuard refuses to remove one more active staff account when it
// is the last: CountActiveStaff locks them all, so concurrent removals
// count one after the other.
func lastStaffGuard(ctx context.Context, tx ports.Tx) error {
	n, err := tx.Users().CountActiveStaff(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return &ecolaura.RuleError{Rule: ecolaura.RuleLastStaff, Message: "the last active staff account cannot be demoted, disabled or deleted"}
	}
	return nil
}
