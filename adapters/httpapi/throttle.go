package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// Brute-force protection of sign-in, as OWASP's Authentication Cheat Sheet
// describes it: failed sign-ins are counted per account (whatever IP they
// come from) and per client IP (whatever account they try), while successful
// sign-ins, refreshes, registrations and sign-outs count only against the
// generous per-IP ceiling of the auth endpoints (Config.AuthRateLimit). Every
// refusal is a 429 with Retry-After.

// rateIP is the part of a client address rate limits are kept under: the
// address itself for IPv4, its /64 network for IPv6 (one subscriber's
// allocation, in which a client can change its address at will).
func rateIP(ip string) string {
	parsed := net.ParseIP(ip)
	if parsed == nil || parsed.To4() != nil {
		return ip
	}
	return parsed.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// accountKey names an account's failed sign-ins by a hash of the email as a
// sign-in would look it up (trimmed, lowercased), so that unknown and known
// emails are counted alike and keys have a fixed size.
func accountKey(email string) string {
	norm, err := ecolaura.NormalizeEmail(email)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	sum := sha256.Sum256([]byte(norm))
	return "signin-fail:account:" + hex.EncodeToString(sum[:16])
}

// signIn checks the credentials through the users service, within the
// failed-sign-in limits.
//
// The IP's budget is only looked at before the password is checked and
// charged after a failure, so that an office behind one NAT signing in at
// once is never refused for its successes. The account's budget is looked
// at, then one failure is reserved while the password is checked and given
// back when it was right (or the check gave no verdict): concurrent guesses
// at one account can never check more passwords than the budget allows. A
// reservation refused while the budget was not spent means other sign-ins
// of the account are being checked at this moment: that 429 asks to retry
// after a second, a spent budget after the time until the next failure is
// allowed.
//
// A spent account budget does not lock the owner out (one wrong guess per
// 15 minutes from an attacker would otherwise keep the right password
// refused for good; OWASP's Authentication Cheat Sheet): a client (IP, or
// IPv6 /64) that has not itself failed to sign in to this account within
// the account limit's period may still have its password checked, from a
// second budget of the account of the same size (SignInFailuresPerAccount).
// The right password signs in; a wrong one is answered with the account's
// 429, like any guess while the account is locked, and marks the client as
// failing for the account. A client that failed for the account is refused
// without a check until the account's budget allows a failure again. So at
// most twice the account's budget of passwords is checked (5 + 5, then two
// every 15 minutes by default), and an attacker who wants to lock the owner
// out needs a fresh client for every guess once the first budget is spent.
func (s *Server) signIn(c *fiber.Ctx, cred users.Credentials) (users.TokenPair, error) {
	ctx := c.UserContext()
	if s.limitsOff() {
		return s.svc.Users.Login(ctx, cred)
	}
	client := rateIP(clientIP(c))
	ipKey, acctKey := "signin-fail:ip:"+client, accountKey(cred.Email)
	clientKey, secondKey := acctKey+":client:"+client, acctKey+":second"
	ipLimit, acctLimit := s.cfg.SignInFailuresPerIP, s.cfg.SignInFailuresPerAccount
	// One failure marks a client as failing for the account for a period.
	clientLimit := RateLimit{Rate: 1, Burst: 1, Period: acctLimit.Period}
	if err := s.peek(c, ipKey, ipLimit, "Too many failed sign-ins from this address."); err != nil {
		return users.TokenPair{}, err
	}
	reserved := acctKey
	locked := s.peek(c, acctKey, acctLimit, "Too many failed sign-ins for this account.")
	switch {
	case locked != nil:
		// Spent: only a client that is not failing for the account may
		// try, from the second budget.
		if s.peek(c, clientKey, clientLimit, "") != nil || s.take(c, secondKey, acctLimit, "") != nil {
			return users.TokenPair{}, locked
		}
		reserved = secondKey
	case s.take(c, acctKey, acctLimit, "") != nil:
		return users.TokenPair{}, throttled("Other sign-ins of this account are being checked.", time.Second)
	}
	pair, err := s.svc.Users.Login(ctx, cred)
	if errors.Is(err, ecolaura.ErrUnauthenticated) {
		// A failure: the account keeps the reservation, the IP is charged
		// and the client is failing for the account.
		for _, k := range []struct {
			key   string
			limit RateLimit
		}{{ipKey, ipLimit}, {clientKey, clientLimit}} {
			if _, cerr := s.svc.RateLimiter.Allow(ctx, k.key, k.limit); cerr != nil {
				s.log.Warn("rate limiter failed to record a failed sign-in", slog.String("request_id", requestID(c)), slog.Any("err", cerr))
			}
		}
		if locked != nil {
			return pair, locked
		}
		return pair, err
	}
	// A success, or no verdict on the password (bad input, an outage):
	// nothing to count.
	s.refund(c, reserved, acctLimit)
	return pair, err
}

// peek refuses with 429 when key's budget is spent, without spending it: it
// takes one request and gives it back.
func (s *Server) peek(c *fiber.Ctx, key string, limit RateLimit, why string) error {
	if err := s.take(c, key, limit, why); err != nil {
		return err
	}
	s.refund(c, key, limit)
	return nil
}

func (s *Server) limitsOff() bool { return s.cfg.DisableRateLimits || s.svc.RateLimiter == nil }

// take takes one request from key's budget, or refuses with 429 and
// Retry-After, the detail saying why. A limiter that fails lets the request
// pass: it is a protection, not a dependency.
func (s *Server) take(c *fiber.Ctx, key string, limit RateLimit, why string) error {
	if s.limitsOff() {
		return nil
	}
	d, err := s.svc.RateLimiter.Allow(c.UserContext(), key, limit)
	if err != nil {
		s.log.Warn("rate limiter failed; allowing request", slog.String("request_id", requestID(c)), slog.Any("err", err))
		return nil
	}
	if d.Allowed {
		return nil
	}
	return throttled(why, d.RetryAfter)
}

// refund gives back one request taken by take.
func (s *Server) refund(c *fiber.Ctx, key string, limit RateLimit) {
	if s.limitsOff() {
		return
	}
	if err := s.svc.RateLimiter.Refund(c.UserContext(), key, limit); err != nil {
		s.log.Warn("rate limiter failed to refund", slog.String("request_id", requestID(c)), slog.Any("err", err))
	}
}

// throttled is a 429 whose Retry-After is retryAfter in whole seconds,
// rounded up, at least 1.
func throttled(why string, retryAfter time.Duration) *httpError {
	secs := max(int(math.Ceil(retryAfter.Seconds())), 1)
	detail := "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds."
	if why != "" {
		detail = why + " " + detail
	}
	return newHTTPError(http.StatusTooManyRequests, "rate-limited", detail,
		[2]string{fiber.HeaderRetryAfter, strconv.Itoa(secs)})
}
