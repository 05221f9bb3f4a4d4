package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
)

// On pgdriver, a statement with arguments is prepared once per connection
// and reused; one without arguments (bun's) is never prepared; a cached
// statement whose result shape a schema change altered is prepared afresh.
func TestPgdriverStatementCache(t *testing.T) {
	db := openDB(t, postgres.Config{Driver: postgres.DriverPgdriver})
	ctx := t.Context()
	conn, err := db.DB().DB.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	const q = "SELECT * FROM stmt_cache_probe WHERE a >= $1 ORDER BY a"
	prepared := func() int {
		t.Helper()
		var n int
		require.NoError(t, conn.QueryRowContext(ctx,
			"SELECT count(*) FROM pg_prepared_statements WHERE statement = '"+q+"'").Scan(&n))
		return n
	}
	_, err = conn.ExecContext(ctx, "CREATE TABLE stmt_cache_probe (a int)")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "INSERT INTO stmt_cache_probe VALUES ($1), ($2)", 1, 2)
	require.NoError(t, err)

	for range 3 {
		var a int
		require.NoError(t, conn.QueryRowContext(ctx, q, 2).Scan(&a))
		assert.Equal(t, 2, a)
	}
	assert.Equal(t, 1, prepared(), "prepared once, reused")
	var n int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT count(*) FROM pg_prepared%'").Scan(&n))
	assert.Zero(t, n, "statements without arguments are not prepared")

	_, err = conn.ExecContext(ctx, "ALTER TABLE stmt_cache_probe ADD COLUMN b int DEFAULT 7")
	require.NoError(t, err)
	_, _ = conn.QueryContext(ctx, q, 1) //nolint:sqlclosecheck // may fail once: the plan's result type changed
	rows, err := conn.QueryContext(ctx, q, 1)
	require.NoError(t, err, "prepared afresh after a schema change")
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, cols)
	var got [][2]int
	for rows.Next() {
		var r [2]int
		require.NoError(t, rows.Scan(&r[0], &r[1]))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, [][2]int{{1, 7}, {2, 7}}, got)
}
