package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/uptrace/bun/migrate"

	"github.com/ecolaura/ecolaura/migrations"
)

// MigrateAction is what Migrate does.
type MigrateAction string

// The migrate actions.
const (
	// MigrateUp applies every pending Ecolaura and River migration.
	MigrateUp MigrateAction = "up"
	// MigrateDown rolls back the last applied group of Ecolaura migrations;
	// when none is left applied it also removes River's schema.
	MigrateDown MigrateAction = "down"
	// MigrateStatus changes nothing and reports the state.
	MigrateStatus MigrateAction = "status"
)

// migrationLockKey is the pg_advisory_lock key that serialises migrations
// ("ecolaura" in ASCII).
const migrationLockKey int64 = 0x65636f6c61757261

// SchemaStatus describes the applied and pending migrations.
type SchemaStatus struct {
	// Applied and Pending name the Ecolaura migrations.
	Applied []string
	Pending []string
	// RiverVersion is the highest applied River migration (0 when none),
	// RiverLatest the highest River knows.
	RiverVersion int
	RiverLatest  int
}

// UpToDate reports whether nothing is pending (a River schema newer than
// this binary knows, applied by a newer replica, counts as up to date).
func (s SchemaStatus) UpToDate() bool {
	return len(s.Pending) == 0 && s.RiverVersion >= s.RiverLatest
}

// String summarises the status for the CLI.
func (s SchemaStatus) String() string {
	return fmt.Sprintf("ecolaura: %d applied, %d pending (%s); river: version %d of %d",
		len(s.Applied), len(s.Pending), strings.Join(s.Pending, ", "), s.RiverVersion, s.RiverLatest)
}

// ErrSchemaOutdated is returned by CheckSchema when migrations are pending.
var ErrSchemaOutdated = errors.New("database schema is behind: run `ecolaura migrate up`")

// Migrate applies action to the schema and returns the status afterwards.
// It holds a session-level advisory lock for the whole run, so several
// replicas running `migrate up` at once apply each migration exactly once.
// Errors: ErrUnavailable; a migration's own failure.
func Migrate(ctx context.Context, d *Database, action MigrateAction) (SchemaStatus, error) {
	switch action {
	case MigrateUp, MigrateDown, MigrateStatus:
	default:
		return SchemaStatus{}, fmt.Errorf("migrate: unknown action %q (want up, down or status)", action)
	}
	ms, err := migrations.New()
	if err != nil {
		return SchemaStatus{}, err
	}
	// The lock is the session's: one connection holds it while the
	// migrations run on others of the pool.
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return SchemaStatus{}, fmt.Errorf("migrate: %w", unavailable(err))
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return SchemaStatus{}, fmt.Errorf("migrate: take advisory lock: %w", unavailable(err))
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
			// Never hand a connection that may still hold the lock back
			// to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	m := migrate.NewMigrator(d.db, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return SchemaStatus{}, fmt.Errorf("migrate: init: %w", unavailable(err))
	}
	rm, err := rivermigrate.New(riverpgxv5.New(d.pool), nil)
	if err != nil {
		return SchemaStatus{}, fmt.Errorf("migrate: river: %w", unavailable(err))
	}
	switch action {
	case MigrateUp:
		if _, err := m.Migrate(ctx); err != nil {
			return SchemaStatus{}, fmt.Errorf("migrate up: %w", unavailable(err))
		}
		if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return SchemaStatus{}, fmt.Errorf("migrate up river: %w", unavailable(err))
		}
	case MigrateDown:
		if _, err := m.Rollback(ctx); err != nil {
			return SchemaStatus{}, fmt.Errorf("migrate down: %w", unavailable(err))
		}
		applied, err := m.AppliedMigrations(ctx)
		if err != nil {
			return SchemaStatus{}, fmt.Errorf("migrate down: %w", unavailable(err))
		}
		if len(applied) == 0 {
			if _, err := rm.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1}); err != nil {
				return SchemaStatus{}, fmt.Errorf("migrate down river: %w", unavailable(err))
			}
		}
	}
	return schemaStatus(ctx, m, rm)
}

func schemaStatus(ctx context.Context, m *migrate.Migrator, rm *rivermigrate.Migrator[pgx.Tx]) (SchemaStatus, error) {
	var st SchemaStatus
	all, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return st, fmt.Errorf("migration status: %w", unavailable(err))
	}
	for _, mg := range all {
		if mg.IsApplied() {
			st.Applied = append(st.Applied, mg.Name)
		} else {
			st.Pending = append(st.Pending, mg.Name)
		}
	}
	for _, v := range rm.AllVersions() {
		st.RiverLatest = max(st.RiverLatest, v.Version)
	}
	existing, err := rm.ExistingVersions(ctx)
	if err != nil {
		return st, fmt.Errorf("river migration status: %w", unavailable(err))
	}
	for _, v := range existing {
		st.RiverVersion = max(st.RiverVersion, v.Version)
	}
	return st, nil
}

// SchemaStatus reports the migration state without changing anything.
// Errors: ErrUnavailable.
func (d *Database) SchemaStatus(ctx context.Context) (SchemaStatus, error) {
	return Migrate(ctx, d, MigrateStatus)
}

// CheckSchema returns an error wrapping ErrSchemaOutdated when migrations
// are pending, so a server refuses to start on an old schema.
func (d *Database) CheckSchema(ctx context.Context) error {
	st, err := d.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if !st.UpToDate() {
		return fmt.Errorf("%w (%s)", ErrSchemaOutdated, st)
	}
	return nil
}
