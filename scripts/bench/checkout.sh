#!/usr/bin/env bash
# Hot- and spread-product checkout over HTTP on PostgreSQL (issue 12): the
# shop's POST /api/v2/orders against a minimal raw-pgx HTTP program
# (scripts/bench/rawcheckout) running the naive transaction on tables with
# the same rows, side by side in one run, with wrk on this machine.
#
#   scripts/bench/checkout.sh
#   DURATION=5s ROUNDS=1 scripts/bench/checkout.sh
#
# Every order has 2 lines of quantity 1:
#   hot     every connection buys the same 2 variants (a flash sale);
#   spread  connection c buys its own 2 variants (no two connections share a row).
# The shop runs as an API replica without River workers (ECOLAURA_WORKERS=off:
# the order's job is inserted in the same transaction and stays queued), then
# once more with the workers in process (reported, no target). Rounds alternate
# shop / raw so that a change of the machine's load hits both.
#
# Environment:
#   DURATION (10s), THREADS (2), CONNECTIONS (32)  wrk settings (CONNECTIONS must be even)
#   ROUNDS (2)        rounds of shop hot, raw hot, shop spread, raw spread
#   LOG_LEVEL (info)  the shop's log level (info writes the access log, as in production)
#   PG_ADMIN_URL      maintenance database of the PostgreSQL to use; a scratch
#                     database is created there and dropped at the end
#   BENCH_REV         build from this git revision (git archive) instead of the working tree
#   KEEP=1            keep the work directory (wrk outputs, server logs)
# After the runs it checks, on both schemas, that the stock sold equals the
# units in the orders (no oversell, no lost decrement) and prints the ratios
# (targets: hot >= 1.0x, spread >= 0.8x the raw program's orders per second).
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-2}
LOG_LEVEL=${LOG_LEVEL:-info}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/bench/lib.sh
source "$ROOT/scripts/bench/lib.sh"

need wrk "install it with: sudo apt-get update && sudo apt-get install -y wrk"
need curl "install it with: sudo apt-get install -y curl"
need jq "install it with: sudo apt-get install -y jq"
need psql "install it with: sudo apt-get install -y postgresql-client"
need go "install Go (see go.mod for the version)"
if ((CONNECTIONS % THREADS != 0 || CONNECTIONS % 2 != 0)); then
	echo "checkout.sh: CONNECTIONS must be even and a multiple of THREADS" >&2
	exit 2
fi
STOCK=500000000 # per variant: no run sells out

# ---- build -------------------------------------------------------------------
SRC=$ROOT
if [[ -n ${BENCH_REV:-} ]]; then
	SRC=$WORK/src
	mkdir -p "$SRC"
	git -C "$ROOT" archive "$BENCH_REV" | tar -x -C "$SRC"
	log "building $(git -C "$ROOT" rev-parse --short "$BENCH_REV") from git archive"
fi
log "building binaries"
(cd "$SRC" && go build -o "$WORK/bin/ecolaura" ./cmd/ecolaura && go build -o "$WORK/bin/rawcheckout" ./scripts/bench/rawcheckout)

# ---- data --------------------------------------------------------------------
# One scratch database: the shop's schema with generated products (their
# default variants sold, one per connection pair), and the raw program's three
# tables filled from the same inventory rows.
scratch_db
sql() { psql "$DB_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
ECOLAURA_DATABASE_URL=$DB_URL "$WORK/bin/ecolaura" migrate up >"$WORK/migrate.log" 2>&1
PRODUCTS=$((2 * CONNECTIONS + 8))
ECOLAURA_DATABASE_URL=$DB_URL "$WORK/bin/ecolaura" seed --products "$PRODUCTS" >"$WORK/seed.log" 2>&1
sql -c "UPDATE products SET status = 'active'" \
	-c "UPDATE inventory_levels SET on_hand = $STOCK" \
	-c "CREATE TABLE raw_stock (variant_id uuid PRIMARY KEY, on_hand integer NOT NULL CHECK (on_hand >= 0), price_minor bigint NOT NULL)" \
	-c "INSERT INTO raw_stock SELECT l.variant_id, l.on_hand, v.price_minor FROM inventory_levels l JOIN product_variants v ON v.id = l.variant_id" \
	-c "CREATE TABLE raw_orders (id uuid PRIMARY KEY, total_minor bigint NOT NULL, created_at timestamptz NOT NULL)" \
	-c "CREATE TABLE raw_order_lines (order_id uuid NOT NULL REFERENCES raw_orders (id), position integer NOT NULL,
		variant_id uuid NOT NULL, quantity integer NOT NULL, unit_price_minor bigint NOT NULL, PRIMARY KEY (order_id, position))" \
	-c "ANALYZE"
# Default variants (their ID is the product's), in ID order: the sale's
# lock order on both sides, so the naive program cannot deadlock either.
sql -c "SELECT id FROM product_variants WHERE id = product_id ORDER BY id LIMIT $((2 * CONNECTIONS))" >"$WORK/variants.txt"
log "$(wc -l <"$WORK/variants.txt") variants of $PRODUCTS products, $STOCK units each"

# ---- servers -----------------------------------------------------------------
ADMIN_EMAIL=bench-admin@example.org
ADMIN_PASSWORD='bench admin pass phrase 42'
# One signing key for both starts of the shop: the customers' tokens stay valid.
"$WORK/bin/ecolaura" keygen "$WORK/jwt.pem" >/dev/null
# shop WORKERS starts the shop on PostgreSQL (WORKERS: off or on) and sets SHOP, SHOP_PID.
shop() {
	local port
	port=$(free_port)
	SHOP=http://127.0.0.1:$port
	start "ecolaura-workers-$1" env ECOLAURA_ADDR="127.0.0.1:$port" ECOLAURA_OPS_ADDR=off ECOLAURA_RATE_LIMITS=off \
		ECOLAURA_LOG_LEVEL="$LOG_LEVEL" ECOLAURA_WORKERS="$1" ECOLAURA_DATABASE_URL="$DB_URL" \
		ECOLAURA_JWT_KEY_FILE="$WORK/jwt.pem" ECOLAURA_ADMIN_EMAIL="$ADMIN_EMAIL" ECOLAURA_ADMIN_PASSWORD="$ADMIN_PASSWORD" "$WORK/bin/ecolaura" serve
	SHOP_PID=$LAST_PID
	wait_http "$SHOP/healthz"
}
shop off
RAW_PORT=$(free_port)
RAW=http://127.0.0.1:$RAW_PORT
start rawcheckout "$WORK/bin/rawcheckout" -addr "127.0.0.1:$RAW_PORT" -database-url "$DB_URL" -max-conns 20
RAW_PID=$LAST_PID
for _ in $(seq 100); do
	curl -s -o /dev/null "$RAW/" && break
	sleep 0.1
done

tokens "$SHOP" "$CONNECTIONS" >"$WORK/tokens.txt"
# Order lines name the variant (variant_id); a shop that takes only
# product_id gets the same default variants by their product IDs.
FIELD=variant_id
probe=$(curl -s -o /dev/null -w '%{http_code}' "$SHOP/api/v2/orders" -H 'Content-Type: application/json' \
	-H "Authorization: Bearer $(head -1 "$WORK/tokens.txt")" -H "Idempotency-Key: probe-$RANDOM" \
	-d "{\"lines\":[{\"variant_id\":\"$(head -1 "$WORK/variants.txt")\",\"quantity\":1}]}")
if [[ $probe != 201 ]]; then
	FIELD=product_id
fi
log "order lines by $FIELD (probe answered $probe)"

# lua FILE MODE PATH AUTH FIELD writes a wrk script posting 2-line orders
# naming each line's variant by FIELD: MODE hot (the first two variants) or
# spread (connection slot k buys variants 2k+1 and 2k+2); AUTH 1 adds a
# customer's bearer token and a unique Idempotency-Key.
lua() {
	{
		echo "local tokens = {"
		sed 's/.*/"&",/' "$WORK/tokens.txt"
		echo "}"
		echo "local variants = {"
		sed 's/.*/"&",/' "$WORK/variants.txt"
		echo "}"
		cat <<EOF
local mode, path, auth, field = "$2", "$3", $4 == 1, "$5"
local per_thread = $((CONNECTIONS / THREADS))
local run = "$(date +%s%N)"
local n = 0
local threads = 0
tid = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function request()
  n = n + 1
  local a, b = 1, 2
  if mode == "spread" then
    local k = tid * per_thread + n % per_thread
    a, b = 2 * k + 1, 2 * k + 2
  end
  local body = '{"lines":[{"' .. field .. '":"' .. variants[a] .. '","quantity":1},{"' .. field .. '":"' .. variants[b] .. '","quantity":1}]}'
  local headers = {["Content-Type"] = "application/json"}
  if auth then
    headers["Authorization"] = "Bearer " .. tokens[(n + tid * per_thread) % #tokens + 1]
    headers["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. n
  end
  return wrk.format("POST", path, headers, body)
end
EOF
	} >"$1"
}
for mode in hot spread; do
	lua "$WORK/shop-$mode.lua" "$mode" /api/v2/orders 1 "$FIELD"
	lua "$WORK/raw-$mode.lua" "$mode" /orders 0 variant_id
done

# ---- runs --------------------------------------------------------------------
declare -A SUM
for mode in hot spread; do SUM[shop-$mode]=0 SUM[raw-$mode]=0; done
add() { SUM[$1]=$(awk -v a="${SUM[$1]}" -v b="$RPS" 'BEGIN {print a + b}'); }
for round in $(seq "$ROUNDS"); do
	for mode in hot spread; do
		NOTE="round $round, workers off"
		bench 12 "shop $mode: POST /api/v2/orders" "$SHOP" "$WORK/shop-$mode.lua"
		add "shop-$mode"
		NOTE="round $round"
		bench 12 "raw pgx $mode: POST /orders" "$RAW" "$WORK/raw-$mode.lua"
		add "raw-$mode"
	done
done
stop "$SHOP_PID"
shop on
for mode in hot spread; do
	NOTE="workers in process (River runs the order jobs)"
	bench 12 "shop $mode: POST /api/v2/orders" "$SHOP" "$WORK/shop-$mode.lua"
done
stop "$SHOP_PID"
stop "$RAW_PID"

# ---- invariants ----------------------------------------------------------------
# Units sold = units in the orders, on both sides, and no level below zero.
shop_sold=$(sql -c "SELECT (SELECT count(*) * $STOCK - sum(on_hand) FROM inventory_levels) - (SELECT coalesce(sum(quantity), 0) FROM order_lines)")
raw_sold=$(sql -c "SELECT (SELECT count(*) * $STOCK - sum(on_hand) FROM raw_stock) - (SELECT coalesce(sum(quantity), 0) FROM raw_order_lines)")
moves=$(sql -c "SELECT (SELECT count(*) FROM inventory_movements WHERE reason = 'sale') - (SELECT count(*) FROM order_lines)")
orders=$(sql -c "SELECT count(*) FROM orders")
raw_orders=$(sql -c "SELECT count(*) FROM raw_orders")
if [[ $shop_sold != 0 || $raw_sold != 0 || $moves != 0 ]]; then
	echo "checkout.sh: stock and orders disagree: shop $shop_sold, raw $raw_sold units; $moves sale movements without a line" >&2
	exit 1
fi

# ---- report ----------------------------------------------------------------------
echo
echo "ecolaura checkout benchmark — $(date -u +%FT%TZ), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, log level $LOG_LEVEL"
echo "load at the end: $(uptime | sed 's/.*load average/load average/')"
column -t -s $'\t' "$RESULTS"
echo
echo "stock sold = units ordered on both sides ($orders shop orders, $raw_orders raw orders); one sale movement per order line"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
echo "hot:    shop / raw pgx = $(ratio "${SUM[shop-hot]}" "${SUM[raw-hot]}") (orders/s summed over the rounds; target >= 1.0x)"
echo "spread: shop / raw pgx = $(ratio "${SUM[shop-spread]}" "${SUM[raw-spread]}") (target >= 0.8x)"
