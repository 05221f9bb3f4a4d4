package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/audit"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// ---- customer self-service (v2) ----

// v2AccountUser is the v2 user with the account's state, as the account's
// owner and staff see it.
type v2AccountUser struct {
	v2User
	EmailVerified bool    `json:"email_verified"`
	Disabled      bool    `json:"disabled"`
	UpdatedAt     string  `json:"updated_at"`
	PendingEmail  *string `json:"pending_email,omitempty"`
}

func toV2AccountUser(u ecolaura.User) v2AccountUser {
	return v2AccountUser{v2User: toV2User(u), EmailVerified: u.EmailVerified(), Disabled: !u.Active(), UpdatedAt: rfc3339(u.UpdatedAt)}
}

// v2PatchMe: PATCH /api/v2/users/me {"name"?, "email"?, "current_password"?}.
// A name changes at once; an email changes only when the link mailed to
// the new address is used (the answer says which address is pending), and
// needs the current password; links to one address are throttled
// (AccountMailsPerAddress).
func (s *Server) v2PatchMe(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	var in struct {
		Name            *string `json:"name"`
		Email           *string `json:"email"`
		CurrentPassword *string `json:"current_password"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	var v ecolaura.Validator
	v.Check(in.Name != nil || in.Email != nil, "name", "give a name, an email or both")
	v.Check(in.Email == nil || in.CurrentPassword != nil, "current_password", "is required to change the email")
	if err := v.Err(); err != nil {
		return err
	}
	if in.Name != nil {
		// Checked before the email change is asked for: a request refused
		// for its name must not have mailed a link.
		if err := ecolaura.ValidateUserName(*in.Name); err != nil {
			return err
		}
	}
	ctx := c.UserContext()
	var pending *string
	if in.Email != nil {
		if err := s.take(c, "accountmail:to:"+emailKey(*in.Email), s.cfg.AccountMailsPerAddress, "Too many links mailed to this address."); err != nil {
			return err
		}
		if err := s.svc.Users.RequestEmailChange(ctx, actor, users.EmailChange{NewEmail: *in.Email, Password: *in.CurrentPassword}); err != nil {
			return registerError(err)
		}
		// The address the link went to: normalised as the service does
		// (PRECIS, RFC 8265), not merely lower-cased.
		norm, err := ecolaura.NormalizeEmail(*in.Email)
		if err != nil {
			return err
		}
		pending = &norm
	}
	u, err := s.svc.Users.UpdateProfile(ctx, actor, users.ProfilePatch{Name: in.Name})
	if err != nil {
		return err
	}
	out := toV2AccountUser(u)
	out.PendingEmail = pending
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// v2ChangePassword: POST /api/v2/users/me/password
// {"current_password", "new_password"} → 204; every other session ends.
func (s *Server) v2ChangePassword(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	var in struct {
		Current *string `json:"current_password"`
		New     *string `json:"new_password"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	var v ecolaura.Validator
	v.Check(in.Current != nil, "current_password", "is required")
	v.Check(in.New != nil, "new_password", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.svc.Users.ChangePassword(c.UserContext(), actor, users.PasswordChange{Current: *in.Current, New: *in.New}); err != nil {
		return renameField(err, "password", "new_password")
	}
	return c.SendStatus(http.StatusNoContent)
}

// v2RequestPasswordReset: POST /api/v2/auth/password-reset {"email"} →
// 202, the same answer in the same time whether or not the email has an
// account (the service only enqueues a job). Throttled per email and per
// client IP.
func (s *Server) v2RequestPasswordReset(c *fiber.Ctx) error {
	var in struct {
		Email *string `json:"email"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	if in.Email == nil {
		return ecolaura.Invalid("email", "is required")
	}
	if err := s.take(c, "pwreset:ip:"+rateIP(clientIP(c)), s.cfg.PasswordResetsPerIP, "Too many password resets from this address."); err != nil {
		return err
	}
	if err := s.take(c, "pwreset:account:"+emailKey(*in.Email), s.cfg.PasswordResetsPerAccount, "Too many password resets for this account."); err != nil {
		return err
	}
	if err := s.svc.Users.RequestPasswordReset(c.UserContext(), *in.Email); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSON(c, http.StatusAccepted, fiber.Map{"detail": "If an account uses this address, a link to reset its password is on its way."})
}

// emailKey names an email in rate-limit keys by a hash of its normalised
// form (unknown and known addresses alike, fixed size).
func emailKey(email string) string {
	norm, err := ecolaura.NormalizeEmail(email)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:16])
}

// withTokenLimit runs use, a check of a mailed token, within the
// per-IP budget of invalid tokens: the budget is looked at first, and
// charged when the token turned out invalid.
func (s *Server) withTokenLimit(c *fiber.Ctx, use func() error) error {
	key := "token-fail:ip:" + rateIP(clientIP(c))
	if err := s.peek(c, key, s.cfg.TokenFailuresPerIP, "Too many invalid links from this address."); err != nil {
		return err
	}
	err := use()
	var ve *ecolaura.ValidationError
	if errors.As(err, &ve) && len(ve.FieldMessages()["token"]) > 0 && !s.limitsOff() {
		if _, cerr := s.svc.RateLimiter.Allow(c.UserContext(), key, s.cfg.TokenFailuresPerIP); cerr != nil {
			s.log.Warn("rate limiter failed to record an invalid token", slog.String("request_id", requestID(c)), slog.Any("err", cerr))
		}
	}
	return err
}

// v2ConfirmPasswordReset: POST /api/v2/auth/password-reset/confirm
// {"token", "new_password"} → 204; every session of the account ends.
func (s *Server) v2ConfirmPasswordReset(c *fiber.Ctx) error {
	var in struct {
		Token *string `json:"token"`
		New   *string `json:"new_password"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	var v ecolaura.Validator
	v.Check(in.Token != nil && *in.Token != "", "token", "is required")
	v.Check(in.New != nil, "new_password", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	err := s.withTokenLimit(c, func() error {
		return s.svc.Users.ResetPassword(c.UserContext(), users.PasswordReset{Token: *in.Token, NewPassword: *in.New})
	})
	if err != nil {
		return renameField(err, "password", "new_password")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendStatus(http.StatusNoContent)
}

// v2VerifyEmail: POST /api/v2/auth/verify-email {"token"} → 204: a
// verification link verifies the address, an email-change link moves the
// account to its new address.
func (s *Server) v2VerifyEmail(c *fiber.Ctx) error {
	var in struct {
		Token *string `json:"token"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	if in.Token == nil || *in.Token == "" {
		return ecolaura.Invalid("token", "is required")
	}
	err := s.withTokenLimit(c, func() error {
		_, err := s.svc.Users.VerifyEmail(c.UserContext(), *in.Token)
		return err
	})
	if err != nil {
		return registerError(err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendStatus(http.StatusNoContent)
}

// v2ResendVerification: POST /api/v2/users/me/verify-email → 202, a new
// verification link; throttled per account (AccountMailsPerAddress).
func (s *Server) v2ResendVerification(c *fiber.Ctx) error {
	if err := decodeV2(c.Body(), &struct{}{}); err != nil {
		return err
	}
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	if err := s.take(c, "accountmail:user:"+string(actor.UserID), s.cfg.AccountMailsPerAddress, "Too many links mailed to this address."); err != nil {
		return err
	}
	if err := s.svc.Users.RequestEmailVerification(c.UserContext(), actor); err != nil {
		return err
	}
	return sendJSON(c, http.StatusAccepted, fiber.Map{"detail": "A new verification link is on its way."})
}

// v2Export: GET /api/v2/users/me/export, every personal datum held (GDPR
// article 15) as a JSON download.
func (s *Server) v2Export(c *fiber.Ctx) error {
	x, err := s.svc.Users.Export(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := struct {
		ExportedAt string           `json:"exported_at"`
		Profile    v2AccountUser    `json:"profile"`
		Addresses  []v2SavedAddress `json:"addresses"`
		Orders     []v2Order        `json:"orders"`
	}{ExportedAt: rfc3339(x.ExportedAt), Profile: toV2AccountUser(x.User), Addresses: make([]v2SavedAddress, 0, len(x.Addresses)),
		Orders: make([]v2Order, 0, len(x.Orders))}
	for _, a := range x.Addresses {
		out.Addresses = append(out.Addresses, toV2SavedAddress(a))
	}
	for _, o := range x.Orders {
		out.Orders = append(out.Orders, toV2Order(o))
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="ecolaura-account-export.json"`)
	return sendJSON(c, http.StatusOK, out)
}

// v2DeleteMe: DELETE /api/v2/users/me {"password"} → 204 (GDPR article
// 17): the account's personal data goes, its orders stay anonymised.
func (s *Server) v2DeleteMe(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	var in struct {
		Password *string `json:"password"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	if in.Password == nil {
		return ecolaura.Invalid("password", "is required")
	}
	if err := s.svc.Users.DeleteAccount(c.UserContext(), actor, *in.Password); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// ---- staff administration (v2) ----

type v2UserPage struct {
	Items      []v2AccountUser `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

// v2ListUsers: GET /api/v2/users?q=&role=&status=&cursor=&limit= (staff).
func (s *Server) v2ListUsers(c *fiber.Ctx) error {
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	if err := onlyParams(q, "q", "role", "status", "cursor", "limit"); err != nil {
		return err
	}
	size, err := limitParam(q, users.MaxPageSize)
	if err != nil {
		return err
	}
	p := users.ListParams{Search: q.Get("q"), Role: ecolaura.Role(q.Get("role")), Cursor: q.Get("cursor"), PageSize: size}
	switch q.Get("status") {
	case "":
	case "active":
		p.Disabled = new(bool)
	case "disabled":
		yes := true
		p.Disabled = &yes
	default:
		return ecolaura.Invalid("status", "must be active or disabled")
	}
	res, err := s.svc.Users.List(c.UserContext(), principal(c), p)
	if err != nil {
		return renameField(renameField(err, "page_size", "limit"), "search", "q")
	}
	out := v2UserPage{Items: make([]v2AccountUser, 0, len(res.Items))}
	for _, u := range res.Items {
		out.Items = append(out.Items, toV2AccountUser(u))
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// v2GetUser: GET /api/v2/users/{id} (staff): the account with its newest
// orders (the first page; GET /api/v2/orders?user_id= pages on).
func (s *Server) v2GetUser(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	u, err := s.svc.Users.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	os, err := s.svc.Orders.List(ctx, actor, orders.ListParams{UserID: u.ID})
	if err != nil {
		return err
	}
	out := struct {
		v2AccountUser
		Orders           []v2Order `json:"orders"`
		OrdersNextCursor *string   `json:"orders_next_cursor"`
	}{v2AccountUser: toV2AccountUser(u), Orders: make([]v2Order, 0, len(os.Items))}
	for _, o := range os.Items {
		out.Orders = append(out.Orders, toV2Order(o))
	}
	if os.NextCursor != "" {
		out.OrdersNextCursor = &os.NextCursor
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// v2PatchUser: PATCH /api/v2/users/{id} {"disabled"?, "role"?} (staff).
func (s *Server) v2PatchUser(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Disabled *bool   `json:"disabled"`
		Role     *string `json:"role"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	if in.Disabled == nil && in.Role == nil {
		return ecolaura.Invalid("disabled", "give disabled, role or both")
	}
	patch := users.AdminPatch{Disabled: in.Disabled}
	if in.Role != nil {
		r := ecolaura.Role(*in.Role)
		patch.Role = &r
	}
	u, err := s.svc.Users.Administer(c.UserContext(), actor, id, patch)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, toV2AccountUser(u))
}

// ---- audit trail (v2) ----

type v2AuditChange struct {
	From *string `json:"from"`
	To   *string `json:"to"`
}

type v2AuditEvent struct {
	ID       ecolaura.ID              `json:"id"`
	ActorID  *ecolaura.ID             `json:"actor_id"`
	Action   string                   `json:"action"`
	Entity   string                   `json:"entity"`
	EntityID ecolaura.ID              `json:"entity_id"`
	At       string                   `json:"at"`
	Changes  map[string]v2AuditChange `json:"changes"`
}

type v2AuditPage struct {
	Items      []v2AuditEvent `json:"items"`
	NextCursor *string        `json:"next_cursor"`
}

func toV2AuditEvent(e ecolaura.AuditEvent) v2AuditEvent {
	out := v2AuditEvent{ID: e.ID, Action: string(e.Action), Entity: string(e.Entity), EntityID: e.EntityID, At: rfc3339(e.At),
		Changes: make(map[string]v2AuditChange, len(e.Changes))}
	if e.ActorID != "" {
		a := e.ActorID
		out.ActorID = &a
	}
	for _, ch := range e.Changes {
		out.Changes[ch.Field] = v2AuditChange{From: ch.From, To: ch.To}
	}
	return out
}

// v2ListAuditEvents: GET /api/v2/audit-events (staff), newest first,
// filtered by actor_id, entity, entity_id, action, since and until
// (RFC 3339), in cursor pages.
func (s *Server) v2ListAuditEvents(c *fiber.Ctx) error {
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	if err := onlyParams(q, "actor_id", "entity", "entity_id", "action", "since", "until", "cursor", "limit"); err != nil {
		return err
	}
	size, err := limitParam(q, audit.MaxPageSize)
	if err != nil {
		return err
	}
	p := audit.ListParams{ActorID: ecolaura.ID(q.Get("actor_id")), Entity: ecolaura.AuditEntity(q.Get("entity")),
		EntityID: ecolaura.ID(q.Get("entity_id")), Action: ecolaura.AuditAction(q.Get("action")), Cursor: q.Get("cursor"), PageSize: size}
	var v ecolaura.Validator
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &p.Since}, {"until", &p.Until}} {
		if raw := q.Get(t.name); raw != "" {
			at, err := time.Parse(time.RFC3339Nano, raw)
			v.Check(err == nil, t.name, "must be an RFC 3339 time such as 2026-11-25T12:00:00Z")
			*t.dst = at
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	res, err := s.svc.Audit.List(c.UserContext(), principal(c), p)
	if err != nil {
		return renameField(err, "page_size", "limit")
	}
	out := v2AuditPage{Items: make([]v2AuditEvent, 0, len(res.Items))}
	for _, e := range res.Items {
		out.Items = append(out.Items, toV2AuditEvent(e))
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// decodeV2 decodes a v2 request body into dst strictly (unknown fields
// refused) and returns every field error at once.
func decodeV2(body []byte, dst any) error {
	var errs fieldErrors
	if err := decodeBody(body, dst, true, v2Dialect, &errs); err != nil {
		return err
	}
	return errs.err()
}
