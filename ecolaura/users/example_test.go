package users_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// Example registers a customer, signs in, verifies the access token,
// rotates the refresh token and shows that replaying the old one is refused.
func Example() {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	hasher, _ := argon2id.New(argon2id.DefaultParams())
	key, _ := jwt.GenerateDevelopmentKey(quiet) // production: jwt.LoadSigningKeyFile
	keys, _ := jwt.NewKeySet(key)
	issuer, _ := jwt.NewIssuer(jwt.DefaultConfig(), keys)
	verifier, _ := jwt.NewVerifier(jwt.DefaultConfig(), keys)

	svc, err := users.New(memory.NewDatabase(), hasher, issuer, system.Clock{}, system.UUIDv7{})
	if err != nil {
		panic(err)
	}
	u, err := svc.Register(ctx, users.RegisterInput{Email: "Ada@Example.org", Name: "Ada", Password: "correct horse battery"})
	if err != nil {
		panic(err)
	}
	fmt.Println("registered", u.Email, "as", u.Role)

	pair, err := svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: "correct horse battery"})
	if err != nil {
		panic(err)
	}
	p, _ := verifier.Verify(ctx, pair.AccessToken)
	fmt.Println("access token for", p.Role, p.UserID == u.ID)

	_, err = svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: "wrong password"})
	fmt.Println("wrong password:", errors.Is(err, ecolaura.ErrUnauthenticated))

	if _, err := svc.Refresh(ctx, pair.RefreshToken); err != nil {
		panic(err)
	}
	_, err = svc.Refresh(ctx, pair.RefreshToken)
	fmt.Println("replayed refresh token:", errors.Is(err, ecolaura.ErrUnauthenticated))
	// Output:
	// registered ada@example.org as customer
	// access token for customer true
	// wrong password: true
	// replayed refresh token: true
}
