package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/ecolaura/ecolaura/adapters/postgres"
)

func migrateCmd(ctx context.Context, args []string, env getenv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := env("ECOLAURA_DATABASE_URL")
	fs.StringVar(&dbURL, "database-url", dbURL, "PostgreSQL URL (ECOLAURA_DATABASE_URL)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: ecolaura migrate up|down|status [flags]\n\n"+
			"  up      apply every pending migration (safe to run from several replicas at once)\n"+
			"  down    roll back the last group of migrations\n"+
			"  status  show applied and pending migrations\n\nFlags:\n")
		printFlags(fs)
	}
	if err := fs.Parse(args); err != nil {
		return helpCode(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	action := postgres.MigrateAction(fs.Arg(0))
	switch action {
	case postgres.MigrateUp, postgres.MigrateDown, postgres.MigrateStatus:
	default:
		fmt.Fprintf(stderr, "ecolaura migrate: unknown action %q (want up, down or status)\n", fs.Arg(0))
		return 2
	}
	if dbURL == "" {
		fmt.Fprintln(stderr, "ecolaura migrate: set ECOLAURA_DATABASE_URL (or --database-url) to a postgres:// URL")
		noteUnknownSettings(stderr)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	db, err := postgres.Open(ctx, postgres.Config{URL: dbURL}, postgres.WithLogger(log))
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura migrate: cannot open the database: %v\n", err)
		return 1
	}
	defer db.Close()
	st, err := postgres.Migrate(ctx, db, action)
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura migrate %s: %v\n", action, err)
		return 1
	}
	fmt.Fprintln(stdout, st.String())
	return 0
}
