#!/usr/bin/env bash
# Load benchmark of Behalf (release build, loopback only, bounded in time).
#
#   bench/run.sh [--build]
#   DATABASE=postgres bench/run.sh [--build]
#
# Every run measures the ceiling first and last: bench/ceiling.rs, an axum server that reads the
# session cookie and answers a fixed page of the client's own dashboard's size with no database.
# Each scenario is reported beside it as a fraction of the two ceiling runs' mean.
#
# Scenarios (see bench/README.md):
#   dashboard-own           GET /dashboard as client jane, her own session
#   dashboard-impersonated  GET /dashboard while admin is logged in as jane
#   start-return            full Login as Client cycles: start -> dashboard -> return
#   ticket-reply            POST /tickets/1/replies while logged in as jane in full mode
#   cart-impersonated       GET /cart while admin is logged in as jane
#   add-to-cart             POST /cart/items (add one) and /cart/items/1 (set to one), alternating, as jane in full mode
#   download-10mb           GET /files/{id}/download of a 10 MB file, jane's own session
#   api-invoices            GET /api/v1/invoices with a Login as Client token (admin as jane, full)
#   exchange-revoke         API Login as Client cycles: POST /oauth/token -> POST /oauth/revoke
#
# Environment:
#   CONNECTIONS  wrk connections per scenario                   (default 32)
#   DURATION     wrk duration per scenario: 10s, 1m, or seconds (default 10s)
#   THREADS      wrk threads for the non-cycle scenarios         (default 2)
#   PORT         loopback port for the server                   (default 18080)
#   DOWNLOAD_CONNECTIONS  wrk connections for download-10mb       (default 8)
#   SCENARIOS    space-separated subset of the scenarios above   (default: all nine)
#   BEHALF_BIN   server binary                       (default target/release/behalf)
#   CEILING_BIN  ceiling server binary      (default target/release/examples/ceiling)
#   CEILING_PORT loopback port for the ceiling server           (default PORT + 1)
#   DATABASE     sqlite (a temporary file) or postgres (a fresh database
#                behalf_bench_PID, dropped on exit)                  (default sqlite)
#   PG_HOST, PG_PORT, PG_USER  PostgreSQL server for DATABASE=postgres
#                                              (default 127.0.0.1, 5432, postgres)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BENCH="$ROOT/bench"
OUT="$BENCH/out"
cd "$ROOT"

CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
DOWNLOAD_CONNECTIONS=${DOWNLOAD_CONNECTIONS:-8}
SCENARIOS=${SCENARIOS:-"dashboard-own dashboard-impersonated start-return ticket-reply cart-impersonated add-to-cart download-10mb api-invoices exchange-revoke"}
BIN=${BEHALF_BIN:-"$ROOT/target/release/behalf"}
CEILING_BIN=${CEILING_BIN:-"$ROOT/target/release/examples/ceiling"}
DATABASE=${DATABASE:-sqlite}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
HOST=127.0.0.1
BASE="http://$HOST:$PORT"
CEILING_PORT=${CEILING_PORT:-$(( PORT + 1 ))}
CEILING_BASE="http://$HOST:$CEILING_PORT"
BUILD=0

[[ "$DATABASE" == sqlite ]] || DATABASE_PREFIX="DATABASE=$DATABASE "
COMMAND_LINE="${DATABASE_PREFIX:-}CONNECTIONS=$CONNECTIONS DURATION=$DURATION THREADS=$THREADS PORT=$PORT SCENARIOS=\"$SCENARIOS\" bench/run.sh${*:+ $*}"

usage() { sed -n '2,35p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*"; }

for arg in "$@"; do
    case "$arg" in
        --build) BUILD=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

# ---- checks -------------------------------------------------------------------------------
case "$DATABASE" in
    sqlite) NEEDED=(wrk curl timeout awk cmp); DB_LABEL="SQLite demo database" ;;
    postgres) NEEDED=(wrk curl timeout awk cmp createdb dropdb); DB_LABEL="PostgreSQL demo database on $PG_HOST:$PG_PORT" ;;
    *) die "DATABASE must be sqlite or postgres, got '$DATABASE'" ;;
esac
for tool in "${NEEDED[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed (apt-get install $tool)"
done
[[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "PG_PORT must be a number, got '$PG_PORT'"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer, got '$CONNECTIONS'"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer, got '$THREADS'"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$PORT'"
[[ "$CEILING_PORT" =~ ^[0-9]+$ && "$CEILING_PORT" != "$PORT" ]] || die "CEILING_PORT must be a number other than PORT, got '$CEILING_PORT'"
(( THREADS <= CONNECTIONS )) || die "THREADS ($THREADS) must not exceed CONNECTIONS ($CONNECTIONS)"

# DURATION in whole seconds (wrk accepts the same forms)
case "$DURATION" in
    *[0-9]s) DUR_SECS=${DURATION%s} ;;
    *[0-9]m) DUR_SECS=$(( ${DURATION%m} * 60 )) ;;
    *[0-9]h) DUR_SECS=$(( ${DURATION%h} * 3600 )) ;;
    *) DUR_SECS=$DURATION ;;
esac
[[ "$DUR_SECS" =~ ^[1-9][0-9]*$ ]] || die "DURATION must look like 10s, 2m or 30, got '$DURATION'"
WRK_TIMEOUT=$(( DUR_SECS + 30 ))   # hard bound around each wrk run

for s in $SCENARIOS; do
    case "$s" in
        dashboard-own|dashboard-impersonated|start-return|ticket-reply|cart-impersonated|add-to-cart|download-10mb|api-invoices|exchange-revoke) ;;
        *) die "unknown scenario '$s'" ;;
    esac
done

if (( BUILD )) || [[ ! -x "$BIN" ]]; then
    log "building release binary: cargo build --release"
    cargo build --release
fi
[[ -x "$BIN" ]] || die "server binary $BIN not found"
if (( BUILD )) || [[ ! -x "$CEILING_BIN" ]]; then
    log "building the ceiling server: cargo build --release --example ceiling"
    cargo build --release --example ceiling
fi
[[ -x "$CEILING_BIN" ]] || die "ceiling binary $CEILING_BIN not found"

for url in "$BASE" "$CEILING_BASE"; do
    if curl -s -o /dev/null --max-time 2 "$url/healthz"; then
        die "something already answers on $url; set PORT (and CEILING_PORT) to free ports"
    fi
done

# ---- server -------------------------------------------------------------------------------
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/behalf-bench.XXXXXX")
SERVER_PID=""
CEILING_PID=""
SAMPLER_PID=""
PG_DB=""
# SQLite keeps the original report names; PostgreSQL's get a suffix so both can sit side by side.
SUFFIX=""
if [[ "$DATABASE" == postgres ]]; then
    SUFFIX="-postgres"
    PG_DB="behalf_bench_$$"
    DB_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
else
    DB_URL="sqlite://$WORK/bench.db"
fi

cleanup() {
    local rc=$?
    if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; fi
    stop_pid "$SERVER_PID"
    stop_pid "$CEILING_PID"
    if (( rc != 0 )) && [[ -f "$WORK/server.log" ]]; then
        echo "---- last lines of the server log ----" >&2
        tail -n 20 "$WORK/server.log" >&2 || true
    fi
    if [[ -n "$PG_DB" ]]; then
        # The server is stopped by now; --force also ends any connection left behind.
        dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$PG_DB" 2>/dev/null \
            || dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists "$PG_DB" \
            || echo "run.sh: warning: could not drop database $PG_DB" >&2
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# Behalf benchmark"
echo "command: $COMMAND_LINE"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty)')"
echo "machine: $(nproc) cores, $(uname -sr); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}')"
echo

if [[ -n "$PG_DB" ]]; then
    log "creating database $PG_DB on $PG_HOST:$PG_PORT"
    createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" \
        || { db=$PG_DB; PG_DB=""; die "createdb $db failed (is PostgreSQL running on $PG_HOST:$PG_PORT?)"; }
fi

log "starting server: $BIN --database-url $DB_URL serve --demo --bind $HOST:$PORT"
BEHALF_FILES_DIR="$WORK/files" "$BIN" --database-url "$DB_URL" serve --demo --bind "$HOST:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_up "$BASE" "$SERVER_PID" server

# ---- memory sampling ----------------------------------------------------------------------
# Every 0.2s: "<phase> <VmRSS kB> <VmHWM kB>"; the phase is the scenario being run.
echo setup >"$WORK/phase"
rss_line() { awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} END{print r+0, h+0}' "/proc/$SERVER_PID/status" 2>/dev/null; }
(
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        line=$(rss_line) || break
        echo "$(cat "$WORK/phase" 2>/dev/null || echo ?) $line" >>"$WORK/rss.log"
        sleep 0.2
    done
) &
SAMPLER_PID=$!
RSS_START_KB=$(rss_line | awk '{print $1}')


# ---- helpers ------------------------------------------------------------------------------
# expect_dashboard CLIENT_COOKIE WHAT: the session must still serve the dashboard
expect_dashboard() {
    local code; code=$(http_code -H "Cookie: behalf_client=$1" "$BASE/dashboard")
    [[ "$code" == 200 ]] || echo "WARNING: $2: GET /dashboard answered $code after the run (expected 200)"
}

# ---- sessions -----------------------------------------------------------------------------
log "logging in jane@example.com and admin@example.com"
JANE=$(login client jane@example.com behalf-demo)
ADMIN=$(login staff admin@example.com behalf-demo)
ADMIN_CSRF=$(staff_csrf "$ADMIN")

STAFF_FILE="$WORK/staff.txt"
KEYS_FILE="$WORK/keys.txt"
if [[ " $SCENARIOS " == *" start-return "* || " $SCENARIOS " == *" exchange-revoke "* ]]; then
    log "creating and logging in $CONNECTIONS bench staff accounts (one per start-return connection)"
    : >"$STAFF_FILE"
    for i in $(seq -f '%02g' 1 "$CONNECTIONS"); do
        printf 'bench-password-%s' "$i" \
            | "$BIN" --database-url "$DB_URL" staff add "bench$i@example.com" --name "Bench $i" --role admin >/dev/null \
            || die "could not add staff bench$i@example.com"
    done
    for i in $(seq -f '%02g' 1 "$CONNECTIONS"); do
        c=$(login staff "bench$i@example.com" "bench-password-$i")
        echo "$c $(staff_csrf "$c")" >>"$STAFF_FILE"
    done
    : >"$KEYS_FILE"
    for i in $(seq -f '%02g' 1 "$CONNECTIONS"); do
        "$BIN" --database-url "$DB_URL" staff api-key "bench$i@example.com" --name bench >>"$KEYS_FILE" \
            || die "could not make an API key for bench$i@example.com"
    done
fi
# api_token: a Login as Client token for jane from a fresh key of admin's (full mode)
api_token() {
    local key; key=$("$BIN" --database-url "$DB_URL" staff api-key admin@example.com --name bench) || die "no API key"
    curl -sS --max-time 10 "$BASE/oauth/token" \
        --data-urlencode "grant_type=urn:ietf:params:oauth:grant-type:token-exchange" \
        --data-urlencode "actor_token=$key" --data-urlencode "actor_token_type=urn:behalf:token-type:api-key" \
        --data-urlencode "subject_token=1" --data-urlencode "subject_token_type=urn:behalf:token-type:client-id" \
        --data-urlencode "scope=portal:write" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

RSS_SETUP_KB=$(rss_line | awk '{print $1}')

# ---- ceiling ------------------------------------------------------------------------------
# The same page size as jane's own dashboard. Read with her own session: starting a Login as
# Client here to size the banner too would leave it live (and noticed) on her dashboard, and
# change what dashboard-own measures.
PAGE_BYTES=$(curl -sS --max-time 10 -H "Cookie: behalf_client=$JANE" "$BASE/dashboard" | wc -c)
(( PAGE_BYTES > 1000 )) || die "jane's dashboard is only $PAGE_BYTES bytes"
log "starting the ceiling: $CEILING_BIN --bind $HOST:$CEILING_PORT --bytes $PAGE_BYTES"
"$CEILING_BIN" --bind "$HOST:$CEILING_PORT" --bytes "$PAGE_BYTES" >"$WORK/ceiling.log" 2>&1 &
CEILING_PID=$!
wait_up "$CEILING_BASE" "$CEILING_PID" ceiling
[[ "$(curl -sS --max-time 10 -H "Cookie: behalf_client=x" "$CEILING_BASE/" | wc -c)" == "$PAGE_BYTES" ]] \
    || die "the ceiling's page is not $PAGE_BYTES bytes"

# ---- scenarios ----------------------------------------------------------------------------
declare -A RPS P50 P99 NOTE CMDS
RESULTS_ORDER=()

# background_load: cores busy on the whole machine during one second with no load sent, i.e.
# other work sharing the machine (a build, a test suite) that lowers the figures
background_load() {
    local b a
    b=$(awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat); sleep 1
    a=$(awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat)
    awk -v b="$b" -v a="$a" -v n="$(nproc)" 'BEGIN{split(b, x, " "); split(a, y, " ");
        busy = y[1] - x[1]; all = busy + y[2] - x[2]; printf "%.2f", (all > 0 ? n * busy / all : 0)}'
}

# run_wrk NAME ENV... -- WRK-ARGS...: runs wrk bounded in time, parses BENCH_RESULT
run_wrk() {
    local name=$1; shift
    local -a cmd=(timeout --kill-after=5 "$WRK_TIMEOUT" wrk "$@")
    echo
    log "scenario $name"
    local printed; printed=$(printf '%q ' "${cmd[@]}"); printed=${printed% }
    echo "\$ $printed"
    CMDS[$name]=$printed
    local bg; bg=$(background_load)
    echo "$name" >"$WORK/phase"
    local rc=0
    "${cmd[@]}" >"$WORK/$name.out" 2>&1 || rc=$?
    echo idle >"$WORK/phase"
    cat "$WORK/$name.out"
    cp "$WORK/$name.out" "$OUT/$name$SUFFIX.txt"
    RESULTS_ORDER+=("$name")
    local line; line=$(grep '^BENCH_RESULT ' "$WORK/$name.out" | tail -n1 || true)
    if (( rc != 0 )) || [[ -z "$line" ]]; then
        echo "WARNING: wrk for $name failed (exit $rc)"
        RPS[$name]=FAILED P50[$name]=- P99[$name]=- NOTE[$name]="wrk exit $rc"
        return 0
    fi
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" ${line#BENCH_RESULT}"; }
    RPS[$name]=$(field rps); P50[$name]=$(field p50_ms); P99[$name]=$(field p99_ms)
    local note bad sock
    note="statuses $(field statuses)"
    bad=$(field unexpected); sock=$(field sock_errors)
    (( bad == 0 )) || note+="; $bad unexpected"
    (( sock == 0 )) || note+="; $sock socket errors"
    [[ "$name" != start-return && "$name" != exchange-revoke ]] || note="$(field cycles_per_s) cycles/s ($(field cycles) cycles); $note"
    note+="; background load before the run $bg cores"
    NOTE[$name]=$note
}

COMMON=(--latency --timeout 5s -d "$DURATION")
# run_ceiling NAME: the ceiling, loaded as the dashboards are.
run_ceiling() {
    run_wrk "$1" -t "$THREADS" -c "$CONNECTIONS" "${COMMON[@]}" \
        -H "Cookie: behalf_client=ceiling" -s "$BENCH/dashboard.lua" "$CEILING_BASE/"
    sleep 1
}
run_ceiling ceiling-first
for s in $SCENARIOS; do
    case "$s" in
        dashboard-own)
            [[ "$(http_code -H "Cookie: behalf_client=$JANE" "$BASE/dashboard")" == 200 ]] || die "jane's session does not open /dashboard"
            run_wrk "$s" -t "$THREADS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -H "Cookie: behalf_client=$JANE" -s "$BENCH/dashboard.lua" "$BASE/dashboard"
            expect_dashboard "$JANE" "$s"
            ;;
        dashboard-impersonated)
            pair=$(impersonate "$ADMIN" "$ADMIN_CSRF"); read -r IMP IMP_CSRF <<<"$pair"
            run_wrk "$s" -t "$THREADS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -H "Cookie: behalf_client=$IMP" -s "$BENCH/dashboard.lua" "$BASE/dashboard"
            expect_dashboard "$IMP" "$s"
            ;;
        start-return)
            run_wrk "$s" -t "$CONNECTIONS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -s "$BENCH/start_return.lua" "$BASE/" -- "$STAFF_FILE" 1
            ;;
        ticket-reply)
            pair=$(impersonate "$ADMIN" "$ADMIN_CSRF"); read -r IMP IMP_CSRF <<<"$pair"
            run_wrk "$s" -t "$THREADS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -s "$BENCH/ticket_reply.lua" "$BASE/" -- "$IMP" "$IMP_CSRF" 1
            expect_dashboard "$IMP" "$s"
            ;;
        cart-impersonated)
            pair=$(impersonate "$ADMIN" "$ADMIN_CSRF"); read -r IMP IMP_CSRF <<<"$pair"
            [[ "$(http_code -H "Cookie: behalf_client=$IMP" "$BASE/cart")" == 200 ]] || die "/cart does not answer 200 while impersonating"
            run_wrk "$s" -t "$THREADS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -H "Cookie: behalf_client=$IMP" -s "$BENCH/dashboard.lua" "$BASE/cart"
            ;;
        add-to-cart)
            pair=$(impersonate "$ADMIN" "$ADMIN_CSRF"); read -r IMP IMP_CSRF <<<"$pair"
            code=$(http_code -H "Cookie: behalf_client=$IMP" --data-urlencode "csrf_token=$IMP_CSRF" \
                --data-urlencode "product_id=1" --data-urlencode "quantity=1" "$BASE/cart/items")
            [[ "$code" == 303 ]] || die "adding product 1 to the cart answered $code (expected 303)"
            run_wrk "$s" -t "$THREADS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -s "$BENCH/add_to_cart.lua" "$BASE/" -- "$IMP" "$IMP_CSRF" 1
            expect_dashboard "$IMP" "$s"
            ;;
        download-10mb)
            # Jane shares a 10 MB file (random bytes, as a .zip) with staff; wrk then downloads it.
            head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/ten-mb.zip"
            JCSRF=$(curl -sS --max-time 10 -H "Cookie: behalf_client=$JANE" "$BASE/files" | csrf_of)
            # The upload answers 303 to /files?shared=ID (the same on SQLite and PostgreSQL).
            hdr=$(curl -sS -o /dev/null -D - --max-time 60 -H "Cookie: behalf_client=$JANE" \
                -F "csrf_token=$JCSRF" -F "file=@$WORK/ten-mb.zip;type=application/zip" "$BASE/files")
            grep -q '^HTTP/[0-9.]* 303' <<<"$hdr" || die "uploading the 10 MB file answered $(head -n1 <<<"$hdr") (expected 303)"
            FILE_ID=$(grep -i '^location:' <<<"$hdr" | sed -n 's/.*[?&]shared=\([0-9][0-9]*\).*/\1/p' | head -n1)
            [[ -n "$FILE_ID" ]] || die "the upload's Location header names no file id: $(grep -i '^location:' <<<"$hdr" | tr -d '\r')"
            got=$(curl -sS --max-time 60 -H "Cookie: behalf_client=$JANE" "$BASE/files/$FILE_ID/download" | cmp - "$WORK/ten-mb.zip" && echo same)
            [[ "$got" == same ]] || die "the downloaded file differs from the uploaded one"
            # 8 connections: 32 concurrent 10 MB bodies only queue behind each other on 2 cores.
            run_wrk "$s" -t "$THREADS" -c "$DOWNLOAD_CONNECTIONS" "${COMMON[@]}" \
                -H "Cookie: behalf_client=$JANE" -s "$BENCH/dashboard.lua" "$BASE/files/$FILE_ID/download"
            NOTE[$s]="${NOTE[$s]}; $(awk -v r="${RPS[$s]}" 'BEGIN{printf "%.0f MB/s", r*10}') of file data"
            ;;
        api-invoices)
            TOKEN=$(api_token); [[ -n "$TOKEN" ]] || die "the token exchange gave no token"
            [[ "$(http_code -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/invoices")" == 200 ]] || die "/api/v1/invoices does not answer 200 with the token"
            run_wrk "$s" -t "$THREADS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -H "Authorization: Bearer $TOKEN" -s "$BENCH/dashboard.lua" "$BASE/api/v1/invoices"
            ;;
        exchange-revoke)
            run_wrk "$s" -t "$CONNECTIONS" -c "$CONNECTIONS" "${COMMON[@]}" \
                -s "$BENCH/exchange_revoke.lua" "$BASE/" -- "$KEYS_FILE" 1
            ;;
    esac
    sleep 1   # let the server settle; also gives the sampler an "idle" reading between scenarios
done
run_ceiling ceiling-last
stop_pid "$CEILING_PID"; CEILING_PID=""
CEILING_RPS=$(awk -v a="${RPS[ceiling-first]}" -v b="${RPS[ceiling-last]}" \
    'BEGIN{ if (a + 0 > 0 && b + 0 > 0) printf "%.0f", (a + b) / 2; else print "" }')
[[ -n "$CEILING_RPS" ]] || die "the ceiling runs failed (first ${RPS[ceiling-first]}, last ${RPS[ceiling-last]})"
# More than 20 % between the two ceiling runs means the machine itself changed speed mid-run.
CEILING_DRIFT=$(awk -v a="${RPS[ceiling-first]}" -v b="${RPS[ceiling-last]}" \
    'BEGIN{ d = (a > b ? a - b : b - a) / ((a + b) / 2) * 100; if (d > 20) printf "%.0f", d }')
# of_ceiling NAME: the scenario's req/s as a fraction of the ceiling's mean
of_ceiling() { awk -v r="${RPS[$1]}" -v c="$CEILING_RPS" 'BEGIN{ if (r + 0 > 0) printf "%.3f", r / c; else print "-" }'; }

# ---- memory -------------------------------------------------------------------------------
sleep 1
read -r RSS_END_KB HWM_KB < <(rss_line)
kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
SAMPLED_PEAK_KB=$(awk '$1 != "setup" && $2 > m {m=$2} END{print m+0}' "$WORK/rss.log")
PEAK_KB=$(( HWM_KB > SAMPLED_PEAK_KB ? HWM_KB : SAMPLED_PEAK_KB ))
declare -A PHASE_PEAK
for s in "${RESULTS_ORDER[@]}"; do
    PHASE_PEAK[$s]=$(awk -v p="$s" '$1 == p && $2 > m {m=$2} END{print m+0}' "$WORK/rss.log")
done

# ---- report -------------------------------------------------------------------------------
report() {
    echo "## Behalf benchmark"
    echo
    echo "- command: \`$COMMAND_LINE\`"
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- binary: $BIN (built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ))"
    echo "- machine: $(nproc) cores; server and wrk share it; loopback $BASE; $DB_LABEL"
    echo "- wrk: $CONNECTIONS connections, $DURATION per scenario, $THREADS threads (start-return: $CONNECTIONS threads, one staff account each)"
    echo
    echo "| scenario | req/s | of ceiling | p50 ms | p99 ms |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for s in "${RESULTS_ORDER[@]}"; do
        echo "| $s | ${RPS[$s]} | $(of_ceiling "$s") | ${P50[$s]} | ${P99[$s]} |"
    done
    echo
    echo "Ceiling: $CEILING_RPS req/s, the mean of its first and last runs (${RPS[ceiling-first]} and ${RPS[ceiling-last]}; bench/ceiling.rs serving a $PAGE_BYTES-byte page, the client's own dashboard's size, after reading the session cookie, no database)."
    if [[ -n "$CEILING_DRIFT" ]]; then
        echo
        echo "**WARNING: the ceiling moved by $CEILING_DRIFT % between its two runs: the machine's speed changed during this run, so its ratios are unreliable. Run it again.**"
    fi
    echo
    echo "Peak RSS: $(mb "$PEAK_KB") MB (VmHWM $(mb "$HWM_KB") MB, highest sampled VmRSS during the runs $(mb "$SAMPLED_PEAK_KB") MB; VmRSS after start-up $(mb "$RSS_START_KB") MB, after login setup $(mb "$RSS_SETUP_KB") MB, 1s after the last scenario $(mb "$RSS_END_KB") MB)"
    echo
    echo "Notes:"
    for s in "${RESULTS_ORDER[@]}"; do
        echo "- $s: ${NOTE[$s]}; peak VmRSS $(mb "${PHASE_PEAK[$s]}") MB"
    done
    echo
    echo "wrk command lines (session tokens are throwaway, from a temporary database):"
    echo
    for s in "${RESULTS_ORDER[@]}"; do
        echo "    ${CMDS[$s]}"
    done
}
echo
report | tee "$OUT/latest$SUFFIX.md"
echo
log "written to $OUT/latest$SUFFIX.md (raw wrk output in $OUT/<scenario>$SUFFIX.txt)"
