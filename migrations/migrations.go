// Package migrations holds Ecolaura's PostgreSQL schema as SQL migration
// files, embedded in the binary and applied with bun's migrate package.
//
// Each migration is a pair NAME_comment.tx.up.sql / NAME_comment.tx.down.sql
// run in one transaction. Use adapters/postgres.Migrate to apply them: it
// also applies River's job-queue migrations and serialises concurrent runs
// from several replicas with an advisory lock.
package migrations

import (
	"embed"
	"fmt"

	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var files embed.FS

// New returns the embedded migrations, ready for a migrate.Migrator. It
// fails only if a file is misnamed (a build defect).
func New() (*migrate.Migrations, error) {
	m := migrate.NewMigrations()
	if err := m.Discover(files); err != nil {
		return nil, fmt.Errorf("discover embedded migrations: %w", err)
	}
	return m, nil
}
