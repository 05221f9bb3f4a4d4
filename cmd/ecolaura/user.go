package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

const userUsage = `Usage: ecolaura user <create|set-password|list> [flags]

Manages accounts in the database (ECOLAURA_DATABASE_URL), as the operator:
every change is recorded in the audit trail with no actor (the system).

  create --email E [--name N] [--staff]   create an account (a customer unless --staff);
                                          a verification link is mailed by the workers
  set-password --email E                  set the password of an account and end its sessions
  list [--q TEXT] [--role R] [--status S] [--limit N]
                                          list accounts, newest first

Passwords are never flags: create and set-password ask for the password
twice on a terminal, or read it from the first line of standard input
(echo "$PASSWORD" | ecolaura user set-password --email a@example.org).
`

// userCmd runs `ecolaura user`.
func userCmd(ctx context.Context, args []string, env getenv, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := env("ECOLAURA_DATABASE_URL")
	fs.StringVar(&dbURL, "database-url", dbURL, "PostgreSQL URL (ECOLAURA_DATABASE_URL)")
	var email, name, q, role, status string
	var staff bool
	limit := 50
	switch sub {
	case "create":
		fs.StringVar(&email, "email", "", "the account's email address")
		fs.StringVar(&name, "name", "", "the account's display name (default: the part of the email before @)")
		fs.BoolVar(&staff, "staff", false, "make it a staff account")
	case "set-password":
		fs.StringVar(&email, "email", "", "the account's email address")
	case "list":
		fs.StringVar(&q, "q", "", "part of the email or name")
		fs.StringVar(&role, "role", "", "customer or staff")
		fs.StringVar(&status, "status", "", "active or disabled")
		fs.IntVar(&limit, "limit", limit, "accounts to show (1-100)")
	default:
		fmt.Fprintf(stderr, "ecolaura user: unknown command %q\n\n%s", sub, userUsage)
		return 2
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), userUsage+"\nFlags of "+sub+":\n")
		printFlags(fs)
	}
	if err := fs.Parse(rest); err != nil {
		return helpCode(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ecolaura user %s: unexpected arguments: %s\n", sub, strings.Join(fs.Args(), " "))
		return 2
	}
	if dbURL == "" {
		fmt.Fprintf(stderr, "ecolaura user %s: set ECOLAURA_DATABASE_URL (or --database-url) to a postgres:// URL\n", sub)
		noteUnknownSettings(stderr)
		return 2
	}
	if sub != "list" && email == "" {
		fmt.Fprintf(stderr, "ecolaura user %s: --email is required\n", sub)
		return 2
	}
	if sub == "list" && (limit < 1 || limit > users.MaxPageSize) {
		fmt.Fprintf(stderr, "ecolaura user list: --limit must be between 1 and %d\n", users.MaxPageSize)
		return 2
	}
	err := withUsers(ctx, dbURL, func(svc *users.Service) error {
		switch sub {
		case "create":
			return userCreate(ctx, svc, email, name, staff, stdin, stdout, stderr)
		case "set-password":
			return userSetPassword(ctx, svc, email, stdin, stdout, stderr)
		default:
			return userList(ctx, svc, q, role, status, limit, stdout)
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura user %s: %v\n", sub, describe(err))
		var ve *ecolaura.ValidationError
		if errors.As(err, &ve) || errors.Is(err, ecolaura.ErrConflict) || errors.Is(err, ecolaura.ErrNotFound) {
			return 2
		}
		return 1
	}
	return 0
}

// describe words the domain errors an operator can act on.
func describe(err error) string {
	var ve *ecolaura.ValidationError
	switch {
	case errors.As(err, &ve):
		var parts []string
		for _, f := range ve.Fields {
			parts = append(parts, f.Field+" "+f.Message)
		}
		return strings.Join(parts, "; ")
	case errors.Is(err, ecolaura.ErrConflict):
		return "an account with this email exists"
	case errors.Is(err, ecolaura.ErrNotFound):
		return "no account has this email"
	}
	return err.Error()
}

// withUsers runs fn with a users service over the database (migrated
// schema required). The CLI issues no tokens: the shop's generated key is
// never used.
func withUsers(ctx context.Context, dbURL string, fn func(*users.Service) error) error {
	quiet := slog.New(slog.DiscardHandler)
	pg, err := openDatabase(ctx, postgres.Config{URL: dbURL, MaxConns: 4}, nil, quiet, nil)
	if err != nil {
		return err
	}
	defer pg.Close()
	s, err := shop.New(ctx, shop.WithServices(shop.UsersService), shop.WithDatabase(pg), shop.WithoutCache(), shop.WithLogger(quiet))
	if err != nil {
		return fmt.Errorf("wire services: %w", err)
	}
	defer s.Close(context.WithoutCancel(ctx))
	return fn(s.Users)
}

func userCreate(ctx context.Context, svc *users.Service, email, name string, staff bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	role := ecolaura.RoleCustomer
	if staff {
		role = ecolaura.RoleStaff
	}
	u, err := svc.CreateAccount(ctx, ecolaura.System(), users.NewAccount{Email: email, Name: name, Password: pw, Role: role})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s account %s (%s)\n", u.Role, u.Email, u.ID)
	return nil
}

func userSetPassword(ctx context.Context, svc *users.Service, email string, stdin io.Reader, stdout, stderr io.Writer) error {
	u, err := svc.FindByEmail(ctx, ecolaura.System(), email)
	if err != nil {
		return err
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if err := svc.SetPassword(ctx, ecolaura.System(), u.ID, pw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password of %s set; its sessions ended\n", u.Email)
	return nil
}

func userList(ctx context.Context, svc *users.Service, q, role, status string, limit int, stdout io.Writer) error {
	p := users.ListParams{Search: q, Role: ecolaura.Role(role), PageSize: limit}
	switch status {
	case "":
	case "active":
		p.Disabled = new(bool)
	case "disabled":
		yes := true
		p.Disabled = &yes
	default:
		return ecolaura.Invalid("status", "must be active or disabled")
	}
	res, err := svc.List(ctx, ecolaura.System(), p)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEMAIL\tNAME\tROLE\tSTATUS\tVERIFIED\tCREATED")
	for _, u := range res.Items {
		st := "active"
		if !u.Active() {
			st = "disabled"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%t\t%s\n", u.ID, u.Email, u.Name, u.Role, st, u.EmailVerified(), u.CreatedAt.Format("2006-01-02 15:04"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if res.NextCursor != "" {
		fmt.Fprintf(stdout, "(more accounts: narrow the search or raise --limit)\n")
	}
	return nil
}

// readPassword asks for a password twice when stdin is a terminal (no
// echo), or reads the first line of stdin otherwise.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Password again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (give it on the first line, or run on a terminal)")
	}
	return line, nil
}
