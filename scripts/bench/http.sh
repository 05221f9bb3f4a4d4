#!/usr/bin/env bash
# HTTP load benchmarks of issues 5, 6 and 7, in one run on this machine, with
# wrk (Debian package `wrk`): 2 threads, 32 connections, localhost only.
#
#   scripts/bench/http.sh                 # everything (needs PostgreSQL and redis-server)
#   SKIP_PG=1 scripts/bench/http.sh       # without the PostgreSQL part
#   DURATION=5s BENCH_REV=HEAD scripts/bench/http.sh
#
# Environment:
#   DURATION (10s), THREADS (2), CONNECTIONS (32)  wrk settings for every run
#   BENCH_REV         build from this git revision (git archive) instead of the working tree
#   PG_ADMIN_URL      maintenance database of the PostgreSQL to use
#                     (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable);
#                     a scratch database is created there and dropped at the end
#   SKIP_PG=1         skip issue 6 (checkout on PostgreSQL, raw pgx comparison)
#   LOG_LEVEL (info)  log level of the servers (info writes the access log, as in production)
#   KEEP=1            keep the work directory (wrk outputs, server logs)
#
# Measures:
#   issue 5  bare Fiber handler (20-product JSON) vs GET /api/v1/products/?category=…
#            from cache (memory mode), and POST /api/v2/orders in memory;
#   issue 7  the same list with no cache, memory cache, Redis without and with
#            client-side caching, plus Redis commands per request from
#            INFO commandstats deltas of a PRIVATE redis-server on a free port;
#   issue 6  POST /api/v2/orders on PostgreSQL (scratch database, migrate up)
#            and the adapter vs raw pgx Go benchmark (BenchmarkCheckoutVsRawPgx).
# Every server it starts is stopped at the end (trap), the scratch database dropped.
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
LOG_LEVEL=${LOG_LEVEL:-info}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/bench/lib.sh
source "$ROOT/scripts/bench/lib.sh"

need wrk "install it with: sudo apt-get update && sudo apt-get install -y wrk"
need curl "install it with: sudo apt-get install -y curl"
need jq "install it with: sudo apt-get install -y jq"
need go "install Go (see go.mod for the version)"
need redis-server "install it with: sudo apt-get install -y redis-server"
need redis-cli "install it with: sudo apt-get install -y redis-tools"
if [[ -z ${SKIP_PG:-} ]]; then
	need psql "install it with: sudo apt-get install -y postgresql-client (or run with SKIP_PG=1)"
fi

# ---- build -------------------------------------------------------------------
SRC=$ROOT
if [[ -n ${BENCH_REV:-} ]]; then
	SRC=$WORK/src
	mkdir -p "$SRC"
	git -C "$ROOT" archive "$BENCH_REV" | tar -x -C "$SRC"
	log "building $(git -C "$ROOT" rev-parse --short "$BENCH_REV") from git archive"
fi
log "building binaries"
(cd "$SRC" && go build -o "$WORK/bin/ecolaura" ./cmd/ecolaura &&
	go build -o "$WORK/bin/bareserver" ./adapters/httpapi/internal/bareserver &&
	go build -o "$WORK/bin/benchserver" ./scripts/bench/benchserver)


# fill_category BASE TOKEN CATEGORY creates products in CATEGORY (as staff)
# until it has at least 20, so that its first list page is a full page of 20
# like the bare handler's body.
fill_category() {
	local have i
	have=$(curl -fsS "$1/api/v2/categories" | jq --arg c "$3" '[.items[] | select(.category == $c) | .products] | add // 0')
	for ((i = have; i < 20; i++)); do
		curl -fsS -o /dev/null "$1/api/v2/products" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
			-d "{\"name\":\"Organic Cotton Produce Bags $i\",\"category\":\"$3\",\"description\":\"Mesh and muslin bags for fruit, vegetables and bulk goods, with tare weight labels.\",\"price\":{\"amount\":\"12.00\",\"currency\":\"EUR\"},\"stock\":260,\"metrics\":{\"carbon_footprint_kg\":\"0.6\",\"recyclable\":false,\"biodegradable\":true}}"
	done
}

# checkout_lua FILE TOKENS_FILE IDS_FILE writes a wrk script that posts
# two-line orders (two different products, quantity 1 each) with a bearer
# token and a unique Idempotency-Key per request.
checkout_lua() {
	{
		echo "local tokens = {"
		sed 's/.*/"&",/' "$2"
		echo "}"
		echo "local products = {"
		sed 's/.*/"&",/' "$3"
		echo "}"
		cat <<EOF
local run = "$(date +%s%N)"
local n = 0
local threads = 0
tid = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  math.randomseed(os.time() + tid * 7919)
end
function request()
  n = n + 1
  local a = math.random(#products)
  local b = (a + math.random(#products - 1) - 1) % #products + 1
  local body = '{"lines":[{"product_id":"' .. products[a] .. '","quantity":1},{"product_id":"' .. products[b] .. '","quantity":1}]}'
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(n + tid) % #tokens + 1],
    ["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. n,
  }
  return wrk.format("POST", "/api/v2/orders", headers, body)
end
EOF
	} >"$1"
}

# redis_calls PORT prints the total calls of every command except INFO.
redis_calls() {
	redis-cli -p "$1" INFO commandstats | tr -d '\r' |
		awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" {s += $3} END {print s + 0}'
}

# redis_breakdown PORT prints "cmd=calls" for every command except INFO.
redis_breakdown() {
	redis-cli -p "$1" INFO commandstats | tr -d '\r' |
		awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" {sub("cmdstat_", "", $1); printf "%s=%s ", $1, $3}'
}

# ---- issue 5: bare handler vs cached list; checkout in memory -----------------
log "issue 5: memory mode"
BARE_PORT=$(free_port)
start bareserver "$WORK/bin/bareserver" -addr "127.0.0.1:$BARE_PORT"
BARE_PID=$LAST_PID
wait_http "http://127.0.0.1:$BARE_PORT/products/"

APP_PORT=$(free_port)
APP=http://127.0.0.1:$APP_PORT
start ecolaura-memory env ECOLAURA_ADDR="127.0.0.1:$APP_PORT" ECOLAURA_RATE_LIMITS=off ECOLAURA_LOG_LEVEL="$LOG_LEVEL" \
	ECOLAURA_ADMIN_EMAIL="$ADMIN_EMAIL" ECOLAURA_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
	"$WORK/bin/ecolaura" serve
APP_PID=$LAST_PID
wait_http "$APP/healthz"

# The category with the most products, filled up to a full page of 20.
ADMIN=$(admin_token "$APP")
CATEGORY=$(curl -fsS "$APP/api/v2/categories" | jq -r '.items | max_by(.products) | .category')
fill_category "$APP" "$ADMIN" "$CATEGORY"
LIST_PATH="/api/v1/products/?category=$CATEGORY"
LIST_ITEMS=$(curl -fsS "$APP$LIST_PATH" | jq '.results | length')
LIST_BYTES=$(curl -fsS "$APP$LIST_PATH" | wc -c)
BARE_BYTES=$(curl -fsS "http://127.0.0.1:$BARE_PORT/products/" | wc -c)
log "list: $LIST_PATH ($LIST_ITEMS products, $LIST_BYTES bytes); bare body $BARE_BYTES bytes"

# Alternate the two, twice, so a change in the machine's load hits both.
BARE_RPS=0 LIST_RPS=0
for round in 1 2; do
	NOTE="round $round, 20 products, $BARE_BYTES B"
	bench 5 "bare Fiber handler" "http://127.0.0.1:$BARE_PORT/products/"
	BARE_RPS=$(awk -v a="$BARE_RPS" -v b="$RPS" 'BEGIN {print a + b}')
	NOTE="round $round, $LIST_ITEMS products, $LIST_BYTES B, memory cache"
	bench 5 "GET $LIST_PATH" "$APP$LIST_PATH"
	LIST_RPS=$(awk -v a="$LIST_RPS" -v b="$RPS" 'BEGIN {print a + b}')
done
stop "$BARE_PID"

# Checkout: plenty of stock on every product (staff PATCH), 8 customers.
curl -fsS "$APP/api/v2/products?limit=100" | jq -r '.items[].id' >"$WORK/mem-products.txt"
while read -r id; do
	curl -fsS -o /dev/null -X PATCH "$APP/api/v2/products/$id" -H "Authorization: Bearer $ADMIN" \
		-H 'Content-Type: application/json' -d '{"stock":100000000}'
done <"$WORK/mem-products.txt"
tokens "$APP" 8 >"$WORK/mem-tokens.txt"
checkout_lua "$WORK/checkout-mem.lua" "$WORK/mem-tokens.txt" "$WORK/mem-products.txt"
NOTE="2 lines, $(wc -l <"$WORK/mem-products.txt") products, 8 users"
bench 5 "POST /api/v2/orders (memory)" "$APP" "$WORK/checkout-mem.lua"
stop "$APP_PID"

# ---- issue 7: cache modes -------------------------------------------------------
log "issue 7: cache modes"
REDIS_PORT=$(free_port)
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
REDIS_PID=$LAST_PID
for _ in $(seq 50); do
	redis-cli -p "$REDIS_PORT" PING >/dev/null 2>&1 && break
	sleep 0.1
done
for mode in none memory redis-nocsc redis; do
	port=$(free_port)
	redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null # the private instance only
	start "benchserver-$mode" "$WORK/bin/benchserver" -addr "127.0.0.1:$port" -cache "$mode" \
		-redis-url "redis://127.0.0.1:$REDIS_PORT/0" -log-level "$LOG_LEVEL" \
		-admin-email "$ADMIN_EMAIL" -admin-password "$ADMIN_PASSWORD"
	pid=$LAST_PID
	wait_http "http://127.0.0.1:$port/healthz"
	fill_category "http://127.0.0.1:$port" "$(admin_token "http://127.0.0.1:$port")" "$CATEGORY"
	for _ in $(seq 20); do curl -fsS -o /dev/null "http://127.0.0.1:$port$LIST_PATH"; done # warm up
	redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT >/dev/null
	before=$(redis_calls "$REDIS_PORT")
	NOTE="cache=$mode"
	bench 7 "list, cache $mode" "http://127.0.0.1:$port$LIST_PATH"
	after=$(redis_calls "$REDIS_PORT")
	per=$(awk -v d=$((after - before)) -v n="$REQS" 'BEGIN {printf "%.3f", d / n}')
	if [[ $mode == redis* ]]; then
		sed -i '$ s/$/; redis cmds\/req '"$per"' ('"$(redis_breakdown "$REDIS_PORT" | sed 's/ *$//')"')/' "$RESULTS"
	fi
	case $mode in
	memory) MEM_RPS=$RPS ;;
	redis) CSC_RPS=$RPS CSC_PER=$per ;;
	esac
	stop "$pid"
done
stop "$REDIS_PID"

# ---- issue 6: checkout on PostgreSQL --------------------------------------------
if [[ -z ${SKIP_PG:-} ]]; then
	log "issue 6: PostgreSQL"
	scratch_db
	ECOLAURA_DATABASE_URL=$DB_URL "$WORK/bin/ecolaura" migrate up >"$WORK/migrate.log" 2>&1
	port=$(free_port)
	PGAPP=http://127.0.0.1:$port
	# ECOLAURA_WORKERS=off: the API replica runs no River workers, so the
	# comparison with the raw pgx transaction is like for like (the jobs
	# stay queued for `ecolaura worker`).
	start ecolaura-postgres env ECOLAURA_ADDR="127.0.0.1:$port" ECOLAURA_RATE_LIMITS=off ECOLAURA_LOG_LEVEL="$LOG_LEVEL" \
		ECOLAURA_WORKERS=off ECOLAURA_DATABASE_URL="$DB_URL" ECOLAURA_ADMIN_EMAIL="$ADMIN_EMAIL" ECOLAURA_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
		"$WORK/bin/ecolaura" serve
	pid=$LAST_PID
	wait_http "$PGAPP/healthz"
	ADMIN=$(admin_token "$PGAPP")
	: >"$WORK/pg-products.txt"
	for i in $(seq 100); do
		curl -fsS "$PGAPP/api/v2/products" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
			-d "{\"name\":\"Bench product $i\",\"category\":\"bench-$((i % 10))\",\"price\":{\"amount\":\"12.50\",\"currency\":\"EUR\"},\"stock\":100000000}" |
			jq -r .id >>"$WORK/pg-products.txt"
	done
	tokens "$PGAPP" 8 >"$WORK/pg-tokens.txt"
	checkout_lua "$WORK/checkout-pg.lua" "$WORK/pg-tokens.txt" "$WORK/pg-products.txt"
	xact() { psql "$DB_URL" -qAtc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
	x0=$(xact)
	NOTE="2 lines, 100 products, 8 users, API replica without workers"
	bench 6 "POST /api/v2/orders (postgres)" "$PGAPP" "$WORK/checkout-pg.lua"
	sleep 1 # pg_stat_database is updated asynchronously
	x1=$(xact)
	PG_RPS=$RPS
	orders=$(psql "$DB_URL" -qAtc "SELECT count(*) FROM orders")
	sed -i '$ s/$/; '"$orders"' orders; '"$(awk -v d=$((x1 - x0)) -v n="$REQS" 'BEGIN {printf "%.2f", d / n}')"' commits\/req incl. River/' "$RESULTS"
	stop "$pid"

	log "issue 6: go test -run '^\$' -bench BenchmarkCheckoutVsRawPgx -benchtime=3s ./adapters/postgres/"
	(cd "$SRC" && go test -run '^$' -bench BenchmarkCheckoutVsRawPgx -benchtime=3s ./adapters/postgres/) | tee "$WORK/rawpgx.txt" >&2
	# ops/s = 1e9 / ns/op, from the second round of each.
	for kind in adapter raw-pgx; do
		ns=$(awk -v k="$kind/1" '$1 ~ k {for (i = 1; i < NF; i++) if ($(i + 1) == "ns/op") print $i}' "$WORK/rawpgx.txt" | tail -1)
		if [[ -n $ns ]]; then
			NOTE="go test BenchmarkCheckoutVsRawPgx, round 2, 8 goroutines"
			printf '6\tcheckout tx, %s (Go, no HTTP)\t%s\t-\t-\t%s\t%s\n' "$kind" "$(awk -v ns="$ns" 'BEGIN {printf "%.2f", 1e9 / ns}')" "$(cut -d' ' -f1 /proc/loadavg)" "$NOTE" >>"$RESULTS"
			if [[ $kind == raw-pgx ]]; then
				RAW_RPS=$(awk -v ns="$ns" 'BEGIN {printf "%.2f", 1e9 / ns}')
			fi
		fi
	done
fi

# ---- report ----------------------------------------------------------------------
echo
echo "ecolaura HTTP benchmarks — $(date -u +%FT%TZ), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, log level $LOG_LEVEL"
echo "load before the report: $(uptime | sed 's/.*load average/load average/')"
column -t -s $'\t' "$RESULTS"
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f%%", 100 * a / b}'; }
echo "issue 5: cached list / bare handler = $(ratio "$LIST_RPS" "$BARE_RPS") (both rounds summed; target >= 60%)"
echo "issue 7: redis+csc / memory cache = $(ratio "$CSC_RPS" "$MEM_RPS") (target >= 100%), redis commands per hot read with csc = $CSC_PER (target 0)"
if [[ -n ${PG_RPS:-} && -n ${RAW_RPS:-} ]]; then
	echo "issue 6: HTTP checkout on postgres / raw pgx transaction = $(ratio "$PG_RPS" "$RAW_RPS") (target >= 75%)"
fi
