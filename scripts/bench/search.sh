#!/usr/bin/env bash
# search.sh — latency of a relevance search on a seeded catalog (issue 12:
# a two-word search under 50 ms p50 at 1M products).
#
# Creates a scratch database on the PostgreSQL server of ADMIN_URL (default:
# the local one), migrates it, seeds N products with `ecolaura seed`
# (default 1,000,000), ANALYZEs, runs BenchmarkSearchSeeded
# (adapters/postgres) against it and drops the database (also on failure or
# Ctrl-C). With SEEDED_URL set, it benchmarks that database instead and
# neither seeds nor drops anything.
#
#   scripts/bench/search.sh [N]
#   SEEDED_URL=postgres://... scripts/bench/search.sh
set -euo pipefail

N="${1:-1000000}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ADMIN_URL="${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
BENCHTIME="${BENCHTIME:-200x}"

if [[ -z ${SEEDED_URL:-} ]]; then
	NAME="ecolaura_searchbench_$(head -c6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	SEEDED_URL="${ADMIN_URL/\/postgres\?//$NAME?}"
	BIN="$(mktemp -d)/ecolaura"
	cleanup() {
		psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null || true
		rm -rf "$(dirname "$BIN")"
	}
	trap cleanup EXIT
	(cd "$ROOT" && go build -o "$BIN" ./cmd/ecolaura)
	psql -q "$ADMIN_URL" -c "CREATE DATABASE $NAME"
	ECOLAURA_DATABASE_URL="$SEEDED_URL" "$BIN" migrate up >/dev/null
	echo "# seeding $N products; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
	ECOLAURA_DATABASE_URL="$SEEDED_URL" "$BIN" seed --products "$N"
	psql -q "$SEEDED_URL" -c "ANALYZE"
fi
psql -qAt "$SEEDED_URL" -c "SELECT 'products: ' || count(*) || ', words: ' || (SELECT count(*) FROM search_words) || ', search index: ' || pg_size_pretty(pg_relation_size('products_search_idx')) FROM products"
echo "# $(date -u +%FT%TZ) load average $(cut -d' ' -f1-3 /proc/loadavg)"
cd "$ROOT"
ECOLAURA_BENCH_SEEDED_URL="$SEEDED_URL" go test -run='^$' -bench=BenchmarkSearchSeeded -benchtime="$BENCHTIME" ./adapters/postgres/ 2>&1 |
	grep -Ev '^(goos|goarch|pkg|cpu):'
