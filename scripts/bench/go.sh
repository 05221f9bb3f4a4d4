#!/usr/bin/env bash
# The Go benchmarks recorded in docs/benchmarks.md, one after the other (never
# two at once: the machine has 2 cores), each preceded by `uptime` so the
# load during the measurement is on record.
#
#   scripts/bench/go.sh                # all of them (the 1M-product seed takes minutes)
#   SKIP_1M=1 scripts/bench/go.sh      # without BenchmarkListPageScale on PostgreSQL
#   BENCH_REV=HEAD scripts/bench/go.sh # from a git archive of a revision, not the working tree
#
# The PostgreSQL and Redis benchmarks use internal/testenv: a scratch database
# on 127.0.0.1:5432 dropped afterwards, and a private redis-server.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT
if [[ -n ${BENCH_REV:-} ]]; then
	SRC=$(mktemp -d /tmp/ecolaura-gobench.XXXXXX)
	trap 'rm -rf "$SRC"' EXIT
	git -C "$ROOT" archive "$BENCH_REV" | tar -x -C "$SRC"
	echo "# source: git archive $(git -C "$ROOT" rev-parse --short "$BENCH_REV")"
fi
cd "$SRC"

run() {
	echo
	echo "\$ $*"
	echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load average/load average/')"
	"$@" 2>&1 | grep -Ev '^(goos|goarch|pkg|cpu):' || true
}

run go test -run='^$' -bench=ListCategoryScore -benchtime=2000x ./adapters/memory/
run go test -run='^$' -bench='AdjustStockParallel|CheckoutTx' -benchtime=2s ./adapters/memory/
run go test -run='^$' -bench=BenchmarkCheckout -benchtime=2s ./ecolaura/orders
run go test -run='^$' -bench=. -benchtime=1s ./adapters/jwt
run go test -run='^$' -bench=. -benchtime=20x ./adapters/argon2id
run go test -run='^$' -bench=ListPage -benchtime=2s -benchmem ./adapters/productcache/
run go test -run='^$' -bench=. -benchtime=2s ./adapters/redis/
run go test -run='^$' -bench=BenchmarkCheckoutVsRawPgx -benchtime=3s ./adapters/postgres/
run go test -run='^$' -bench=BenchmarkStore -benchtime=2s ./adapters/postgres/
run go test -run='^TestQueryCounts$' -count=1 -v ./adapters/postgres/
if [[ -z ${SKIP_1M:-} ]]; then
	run go test -run='^$' -bench=BenchmarkListPageScale -benchtime=2s -timeout=20m ./adapters/postgres/
fi
