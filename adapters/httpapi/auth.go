package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// ---- v1 (simplejwt / DRF) ----

type v1User struct {
	ID         ecolaura.ID `json:"id"`
	Email      string      `json:"email"`
	Username   string      `json:"username"`
	Name       string      `json:"name"`
	IsStaff    bool        `json:"is_staff"`
	DateJoined string      `json:"date_joined"`
}

func toV1User(u ecolaura.User) v1User {
	return v1User{ID: u.ID, Email: u.Email, Username: u.Email, Name: u.Name, IsStaff: u.Role == ecolaura.RoleStaff, DateJoined: rfc3339(u.CreatedAt)}
}

type v1TokenInput struct {
	Username *string `json:"username"`
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

// decodeV1Token decodes simplejwt's {"username" or "email", "password"},
// reporting every missing or mistyped field at once.
func decodeV1Token(body []byte) (users.Credentials, error) {
	var in v1TokenInput
	var errs fieldErrors
	if err := decodeBody(body, &in, false, v1Dialect, &errs); err != nil {
		return users.Credentials{}, err
	}
	email := in.Email
	if email == nil {
		email = in.Username
	}
	if !errs.covers("email") {
		errs.require(email != nil && *email != "", "username", v1Dialect)
	}
	errs.require(in.Password != nil && *in.Password != "", "password", v1Dialect)
	return users.Credentials{Email: deref(email), Password: deref(in.Password)}, errs.err()
}

func (s *Server) v1Token(c *fiber.Ctx) error {
	cred, err := decodeV1Token(c.Body())
	if err != nil {
		return err
	}
	pair, err := s.signIn(c, cred)
	if err != nil {
		if errors.Is(err, ecolaura.ErrUnauthenticated) {
			return unauthenticated("No active account found with the given credentials")
		}
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSON(c, http.StatusOK, fiber.Map{"access": pair.AccessToken, "refresh": pair.RefreshToken})
}

func (s *Server) v1TokenRefresh(c *fiber.Ctx) error {
	var in struct {
		Refresh *string `json:"refresh"`
	}
	var errs fieldErrors
	if err := decodeBody(c.Body(), &in, false, v1Dialect, &errs); err != nil {
		return err
	}
	errs.require(in.Refresh != nil && *in.Refresh != "", "refresh", v1Dialect)
	if err := errs.err(); err != nil {
		return err
	}
	pair, err := s.svc.Users.Refresh(c.UserContext(), *in.Refresh)
	if err != nil {
		if errors.Is(err, ecolaura.ErrUnauthenticated) {
			return unauthenticated("Token is invalid or expired")
		}
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSON(c, http.StatusOK, fiber.Map{"access": pair.AccessToken, "refresh": pair.RefreshToken})
}

type registerInput struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Name     *string `json:"name"`
}

// decodeRegister decodes {"email", "password", "name"} (strictly for v2)
// and reports every problem at once, as DRF's serializer does: the missing
// and mistyped fields, and the account rules (users.RegisterInput.Validate)
// for the fields that decoded.
func decodeRegister(body []byte, strict bool, d dialect) (users.RegisterInput, error) {
	var in registerInput
	var errs fieldErrors
	if err := decodeBody(body, &in, strict, d, &errs); err != nil {
		return users.RegisterInput{}, err
	}
	errs.require(in.Email != nil, "email", d)
	errs.require(in.Password != nil, "password", d)
	errs.require(in.Name != nil, "name", d)
	out := users.RegisterInput{Email: deref(in.Email), Password: deref(in.Password), Name: deref(in.Name)}
	if len(errs.list) > 0 {
		if err := errs.mergeDomain(out.Validate(), nil); err != nil {
			return out, err
		}
	}
	return out, errs.err()
}

// emailTakenMessage is DRF's message for a taken email, on field "email" of
// a 400. The v2 API answers the same, to keep its contract.
const emailTakenMessage = "user with this email already exists."

// registerError presents the conflict of a taken email as the original
// API did: a 400 naming the field, in DRF's wording.
func registerError(err error) error {
	var ce *ecolaura.ConflictError
	if errors.As(err, &ce) && ce.Field == "email" {
		return ecolaura.Invalid("email", emailTakenMessage)
	}
	return err
}

func (s *Server) v1Register(c *fiber.Ctx) error {
	in, err := decodeRegister(c.Body(), false, v1Dialect)
	if err != nil {
		return err
	}
	u, err := s.svc.Users.Register(c.UserContext(), in)
	if err != nil {
		return registerError(err)
	}
	return sendJSON(c, http.StatusCreated, toV1User(u))
}

func (s *Server) v1Me(c *fiber.Ctx) error {
	u, err := s.svc.Users.Me(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, toV1User(u))
}

// ---- v2 ----

type v2User struct {
	ID        ecolaura.ID `json:"id"`
	Email     string      `json:"email"`
	Name      string      `json:"name"`
	Role      string      `json:"role"`
	CreatedAt string      `json:"created_at"`
}

func toV2User(u ecolaura.User) v2User {
	return v2User{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), CreatedAt: rfc3339(u.CreatedAt)}
}

type v2Tokens struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresAt string `json:"refresh_expires_at"`
}

func toV2Tokens(p users.TokenPair) v2Tokens {
	return v2Tokens{AccessToken: p.AccessToken, TokenType: "Bearer", ExpiresIn: max(int(time.Until(p.AccessExpiresAt).Round(time.Second).Seconds()), 0),
		RefreshToken: p.RefreshToken, RefreshExpiresAt: rfc3339(p.RefreshExpiresAt)}
}

func (s *Server) v2Register(c *fiber.Ctx) error {
	in, err := decodeRegister(c.Body(), true, v2Dialect)
	if err != nil {
		return err
	}
	u, err := s.svc.Users.Register(c.UserContext(), in)
	if err != nil {
		return registerError(err)
	}
	return sendJSON(c, http.StatusCreated, toV2User(u))
}

func (s *Server) v2Token(c *fiber.Ctx) error {
	var in struct {
		Email    *string `json:"email"`
		Password *string `json:"password"`
	}
	var errs fieldErrors
	if err := decodeBody(c.Body(), &in, true, v2Dialect, &errs); err != nil {
		return err
	}
	errs.require(in.Email != nil, "email", v2Dialect)
	errs.require(in.Password != nil, "password", v2Dialect)
	if err := errs.err(); err != nil {
		return err
	}
	pair, err := s.signIn(c, users.Credentials{Email: *in.Email, Password: *in.Password})
	if err != nil {
		if errors.Is(err, ecolaura.ErrUnauthenticated) {
			return unauthenticated("The email or password is not correct.")
		}
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSON(c, http.StatusOK, toV2Tokens(pair))
}

func decodeRefreshToken(body []byte) (string, error) {
	var in struct {
		RefreshToken *string `json:"refresh_token"`
	}
	var errs fieldErrors
	if err := decodeBody(body, &in, true, v2Dialect, &errs); err != nil {
		return "", err
	}
	errs.require(in.RefreshToken != nil && *in.RefreshToken != "", "refresh_token", v2Dialect)
	if err := errs.err(); err != nil {
		return "", err
	}
	return *in.RefreshToken, nil
}

func (s *Server) v2Refresh(c *fiber.Ctx) error {
	tok, err := decodeRefreshToken(c.Body())
	if err != nil {
		return err
	}
	pair, err := s.svc.Users.Refresh(c.UserContext(), tok)
	if err != nil {
		if errors.Is(err, ecolaura.ErrUnauthenticated) {
			return unauthenticated("The refresh token is invalid, expired, revoked or was already used.")
		}
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSON(c, http.StatusOK, toV2Tokens(pair))
}

func (s *Server) v2Logout(c *fiber.Ctx) error {
	tok, err := decodeRefreshToken(c.Body())
	if err != nil {
		return err
	}
	if err := s.svc.Users.Logout(c.UserContext(), tok); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *Server) v2Me(c *fiber.Ctx) error {
	u, err := s.svc.Users.Me(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, toV2AccountUser(u))
}

func (s *Server) jwks(c *fiber.Ctx) error {
	body, err := s.svc.JWKS()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/jwk-set+json")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(body)
}
