#!/usr/bin/env bash
# Before/after figures of adapters/postgres in one run: builds the package's
# test binary at two revisions and runs them alternately, round after round,
# so that the load of a shared machine falls on both alike. Each line is
# tagged with its side; the summary (benchstat, medians and spread) follows.
#
#   scripts/bench/postgres-ab.sh                  # BEFORE=4d56a99 (the last revision on bun's pgdriver and the hand-written statement cache) vs the working tree
#   BEFORE=<rev> AFTER=<rev> ROUNDS=6 scripts/bench/postgres-ab.sh
#
# Benchmarks: BenchmarkCheckoutVsRawPgx (adapter vs a hand-written pgx
# transaction, same binary, same database), BenchmarkStore (Get, list page,
# checkout alone and 8 at once) and BenchmarkInsertProducts (COPY). A
# revision with a Driver setting runs its default driver, pgdriver; the
# names are made alike so benchstat pairs them. Scratch databases on
# 127.0.0.1:5432 (internal/testenv), dropped afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BEFORE=${BEFORE:-4d56a99}
AFTER=${AFTER:-}
ROUNDS=${ROUNDS:-5}
BENCHTIME=${BENCHTIME:-2s}
OUT=${OUT:-$(mktemp -d /tmp/ecolaura-pgab.XXXXXX)}
export ECOLAURA_REQUIRE_SERVICES=1

build() { # build <rev or empty for the working tree> <binary>
	local src=$ROOT
	if [[ -n $1 ]]; then
		src=$(mktemp -d /tmp/ecolaura-pgab-src.XXXXXX)
		git -C "$ROOT" archive "$1" | tar -x -C "$src"
	fi
	(cd "$src" && go test -c -o "$2" ./adapters/postgres/)
	[[ -n $1 ]] && rm -rf "$src"
	return 0
}
echo "# before: $(git -C "$ROOT" rev-parse --short "$BEFORE"); after: ${AFTER:-working tree at $(git -C "$ROOT" rev-parse --short HEAD)}"
build "$BEFORE" "$OUT/before.test"
build "$AFTER" "$OUT/after.test"

# The same patterns select the same work in both binaries: a revision with
# a Driver setting names BenchmarkStore's sub-benchmarks by driver (its
# default, pgdriver, is taken), the current one by pgx query exec mode (the
# default, cache_statement, is taken). BenchmarkInsertProducts has no
# sub-benchmarks in the current one (a pattern for them would skip it): the
# old one's pgx line is dropped instead.
patterns=('^BenchmarkCheckoutVsRawPgx$' '^BenchmarkStore$/^(pgdriver|cache_statement)$' '^BenchmarkInsertProducts$')
normalize() {
	{ grep -v '^BenchmarkInsertProducts/pgx-' || true; } |
		sed -E 's#BenchmarkStore/(pgdriver|cache_statement)/#BenchmarkStore/#; s#BenchmarkInsertProducts/pgdriver#BenchmarkInsertProducts#'
}

: >"$OUT/before.txt"
: >"$OUT/after.txt"
for round in $(seq 1 "$ROUNDS"); do
	for side in before after; do
		echo "# round $round $side $(date -u +%FT%TZ) $(uptime | sed 's/.*load average/load average/')"
		for p in "${patterns[@]}"; do
			(cd "$ROOT/adapters/postgres" && "$OUT/$side.test" -test.run '^$' -test.bench "$p" \
				-test.benchtime "$BENCHTIME" -test.benchmem) 2>&1 | { grep -E '^Benchmark' || true; } | normalize | tee -a "$OUT/$side.txt" | sed "s/^/$side /"
		done
	done
done
echo "# raw results: $OUT/before.txt $OUT/after.txt"
if command -v benchstat >/dev/null; then
	benchstat "$OUT/before.txt" "$OUT/after.txt"
else
	go run golang.org/x/perf/cmd/benchstat@latest "$OUT/before.txt" "$OUT/after.txt" || true
fi
