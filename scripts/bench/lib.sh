#!/usr/bin/env bash
# Shared helpers of the HTTP benchmark scripts (http.sh, checkout.sh): a work
# directory removed at exit with every server started and the scratch
# database dropped, free ports, wrk runs recorded in $RESULTS, and the
# shop's API calls (customers' and the staff account's tokens).
# Sourced, never run; the sourcing script sets PG_ADMIN_URL when it uses a
# scratch database (SCRATCH_DB).
need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "$(basename "$0"): $1 is not installed; $2" >&2
		exit 1
	fi
}

WORK=$(mktemp -d /tmp/ecolaura-bench.XXXXXX)
PIDS=()
SCRATCH_DB=""

cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [[ -n $SCRATCH_DB ]]; then
		psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS \"$SCRATCH_DB\" WITH (FORCE)" >/dev/null
	fi
	if [[ -z ${KEEP:-} ]]; then
		rm -rf "$WORK"
	else
		echo "work directory kept: $WORK" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "$(basename "$0"): no free port found" >&2
	return 1
}

# start NAME CMD... runs a server in the background, logging to $WORK/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	LAST_PID=$! LAST_LOG=$WORK/$name.log
}

# stop PID stops one server started by start.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# wait_http URL waits until URL answers (at most 60 s); on failure it shows
# the end of the log of the server started last.
wait_http() {
	for _ in $(seq 600); do
		if curl -fs -o /dev/null "$1"; then
			return 0
		fi
		if ! kill -0 "$LAST_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "$(basename "$0"): $1 did not come up; the end of $LAST_LOG:" >&2
	tail -20 "$LAST_LOG" >&2
	return 1
}

RESULTS=$WORK/results.tsv
printf 'issue\tbenchmark\treq/s\tp99\tnon-2xx\tload1\tnote\n' >"$RESULTS"

# bench ISSUE NAME URL [LUA] runs wrk and records req/s, p99 and non-2xx
# responses; it sets REQS (requests completed) and RPS.
bench() {
	local issue=$1 name=$2 url=$3 lua=${4:-} out
	out="$WORK/wrk-$(echo "$2" | tr -c 'A-Za-z0-9\n' '_').txt"
	local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
	if [[ -n $lua ]]; then
		args+=(-s "$lua")
	fi
	local load
	load=$(cut -d' ' -f1 /proc/loadavg) # 1-minute load average before the run (includes the previous run)
	log "wrk ${args[*]} $url ($(uptime | sed 's/.*load average/load average/'))"
	wrk "${args[@]}" "$url" >"$out"
	RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	REQS=$(awk '/requests in/ {print $1}' "$out")
	local p99 bad
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$issue" "$name" "$RPS" "$p99" "${bad:-0}" "$load" "${NOTE:-}" >>"$RESULTS"
	NOTE=""
}

# ---- helpers for the shop's API ----------------------------------------------
ADMIN_EMAIL=bench-admin@example.org
ADMIN_PASSWORD='bench admin pass phrase 42'
PASSWORD='bench customer pass phrase'

# tokens BASE N registers N customers and prints one access token per line.
tokens() {
	local base=$1 n=$2 run=$RANDOM$RANDOM i
	for i in $(seq "$n"); do
		local email="bench-$run-$i@example.org"
		curl -fsS "$base/api/v2/auth/register" -H 'Content-Type: application/json' \
			-d "{\"email\":\"$email\",\"name\":\"Bench $i\",\"password\":\"$PASSWORD\"}" >/dev/null
		curl -fsS "$base/api/v2/auth/token" -H 'Content-Type: application/json' \
			-d "{\"email\":\"$email\",\"password\":\"$PASSWORD\"}" | jq -r .access_token
	done
}

# admin_token BASE prints the staff account's access token.
admin_token() {
	curl -fsS "$1/api/v2/auth/token" -H 'Content-Type: application/json' \
		-d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .access_token
}

# scratch_db creates a scratch database on PG_ADMIN_URL's server (dropped at
# exit) and sets SCRATCH_DB to its name and DB_URL to its URL.
scratch_db() {
	SCRATCH_DB=ecolaura_bench_$$_$RANDOM
	psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE \"$SCRATCH_DB\"" >/dev/null
	local base=${PG_ADMIN_URL%%\?*}
	DB_URL=${base%/*}/$SCRATCH_DB${PG_ADMIN_URL#"$base"}
}
