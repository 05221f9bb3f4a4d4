#!/usr/bin/env bash
# seed-benchmark.sh — time `ecolaura seed --products N` on a scratch database.
#
# Creates a database with a random name on the PostgreSQL server of
# ADMIN_URL (default: the local one), migrates it, loads N generated products
# (default 1,000,000) with every production index in place, prints the
# seed's summary and the table size, and drops the database again (also on
# failure or Ctrl-C). It never touches any other database.
#
#   scripts/seed-benchmark.sh [N] [extra seed flags, e.g. --batch 20000 --workers 2]
set -euo pipefail

N="${1:-1000000}"
shift || true
ADMIN_URL="${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
NAME="ecolaura_seedbench_$(head -c6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DB_URL="${ADMIN_URL/\/postgres\?//$NAME?}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$(mktemp -d)/ecolaura"

cleanup() {
	psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null || true
	rm -rf "$(dirname "$BIN")"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$BIN" ./cmd/ecolaura)
psql -q "$ADMIN_URL" -c "CREATE DATABASE $NAME"
export ECOLAURA_DATABASE_URL="$DB_URL"
"$BIN" migrate up >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
"$BIN" seed --products "$N" "$@"
psql -qAt "$DB_URL" -c "SELECT 'products: ' || count(*) || ', table with indexes: ' || pg_size_pretty(pg_total_relation_size('products')) FROM products"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
