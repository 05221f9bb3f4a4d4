// Command ecolaura is the reference server of the Ecolaura SDK.
//
//	ecolaura serve             run the shop over HTTP (in memory with the demo catalog by default)
//	ecolaura migrate up|down|status   manage the PostgreSQL schema (needs ECOLAURA_DATABASE_URL)
//	ecolaura seed [--products N]      load the demo catalog or N generated products (PostgreSQL)
//	ecolaura worker            run only the background job workers (PostgreSQL)
//	ecolaura user create|set-password|list   manage accounts (PostgreSQL)
//	ecolaura cache flush       empty the shared Redis cache (after a restore or a manual SQL fix)
//	ecolaura keygen FILE       write a new Ed25519 signing key for ECOLAURA_JWT_KEY_FILE
//	ecolaura healthcheck       exit 0 when the local server is ready (container HEALTHCHECK)
//	ecolaura version           print the version (also --version)
//
// Every command accepts --help. Configuration comes from ECOLAURA_*
// environment variables, overridden by flags; see `ecolaura serve --help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := runWithInput(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage: ecolaura <command> [flags]

Commands:
  serve      run the HTTP API (in memory with the demo catalog unless
             ECOLAURA_DATABASE_URL is set)
  migrate    apply (up), roll back (down) or show (status) database migrations
  seed       load the demo catalog, or --products N generated products, into
             the database
  worker     run only the background job workers (no HTTP), for scaling out
  cache      flush: empty the shared Redis cache after the database changed
             behind the servers' back (a restore, a manual SQL fix)
  keygen     write a new Ed25519 signing key for ECOLAURA_JWT_KEY_FILE
  healthcheck
             exit 0 when the local server is ready (the image's HEALTHCHECK)
  user       create accounts, set passwords, list accounts (create|set-password|list)
  version    print the version (also --version)

Run "ecolaura <command> --help" for the flags of a command.
`

// run executes the command line with no standard input (see runWithInput).
func run(ctx context.Context, args []string, env getenv, stdout, stderr io.Writer) int {
	return runWithInput(ctx, args, env, strings.NewReader(""), stdout, stderr)
}

// runWithInput executes the command line and returns the exit code: 0 on
// success, 1 on a runtime failure, 2 on a usage or configuration error.
func runWithInput(ctx context.Context, args []string, env getenv, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "--version", "-version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "version":
		fs := flag.NewFlagSet("version", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() {
			fmt.Fprintln(fs.Output(), "Usage: ecolaura version\n\nPrints the version, the Go version and the VCS revision.")
		}
		if err := fs.Parse(rest); err != nil {
			return helpCode(err)
		}
		fmt.Fprintln(stdout, versionString())
		return 0
	case "serve":
		return serve(ctx, rest, env, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, env, stdout, stderr)
	case "seed":
		return seedCmd(ctx, rest, env, stdout, stderr)
	case "worker":
		return workerCmd(ctx, rest, env, stdout, stderr)
	case "cache":
		return cacheCmd(ctx, rest, env, stdout, stderr)
	case "keygen":
		return keygenCmd(rest, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, rest, env, stdout, stderr)
	case "user":
		return userCmd(ctx, rest, env, stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "ecolaura: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func helpCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
