#!/usr/bin/env bash
# Robustness run of Behalf (release build, loopback only, bounded in count and time).
#
#   bench/robustness.sh [--build]
#   DATABASE=postgres bench/robustness.sh [--build]
#
# 1. COUNT malformed requests (bench/robustness.py): random paths, NUL and invalid UTF-8 in paths,
#    queries and forms, huge and negative ids, duplicated and missing fields, wrong content types,
#    bodies just over the limit, bad cookies; signed in (staff, client, staff as client) and not.
# 2. 1,000 concurrent connections for CONCURRENT_SECONDS with wrk, half on the sign-in page and
#    half on an impersonated dashboard, counting answers by status class from the server's metrics.
# Reports counts by status and the server's peak RSS; fails if any answer is >= 500 other than 503.
#
# Environment:
#   COUNT               malformed requests                 (default 20000)
#   FUZZ_SECONDS        bound on the malformed run          (default 900)
#   CONNECTIONS         concurrent connections              (default 1000)
#   CONCURRENT_SECONDS  length of the concurrent run        (default 30)
#   PORT                loopback port                       (default 18090)
#   BEHALF_BIN          server binary                       (default target/release/behalf)
#   DATABASE            sqlite or postgres (a fresh database, dropped on exit)  (default sqlite)
#   PG_HOST, PG_PORT, PG_USER                                (default 127.0.0.1, 5432, postgres)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
cd "$ROOT"

COUNT=${COUNT:-20000}
FUZZ_SECONDS=${FUZZ_SECONDS:-900}
CONNECTIONS=${CONNECTIONS:-1000}
CONCURRENT_SECONDS=${CONCURRENT_SECONDS:-30}
PORT=${PORT:-18090}
BIN=${BEHALF_BIN:-"$ROOT/target/release/behalf"}
DATABASE=${DATABASE:-sqlite}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
BASE="http://127.0.0.1:$PORT"
OUT="$ROOT/bench/out"

die() { echo "robustness.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*"; }

[[ "${1:-}" == "--build" ]] && cargo build --release
for tool in wrk curl python3 timeout awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (apt-get install $tool)"
done
for n in "$COUNT" "$FUZZ_SECONDS" "$CONNECTIONS" "$CONCURRENT_SECONDS" "$PORT"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "COUNT, FUZZ_SECONDS, CONNECTIONS, CONCURRENT_SECONDS and PORT must be positive integers"
done
[[ -x "$BIN" ]] || die "server binary $BIN not found (bench/robustness.sh --build)"
curl -s -o /dev/null --max-time 2 "$BASE/healthz" && die "something already answers on $BASE"
(( $(ulimit -n) >= CONNECTIONS + 200 )) || ulimit -n $(( CONNECTIONS + 1000 )) 2>/dev/null \
    || die "the open-files limit ($(ulimit -n)) is too low for $CONNECTIONS connections"

mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/behalf-robust.XXXXXX")
SERVER_PID=""
PG_DB=""
case "$DATABASE" in
    sqlite) DB_URL="sqlite://$WORK/robust.db"; SUFFIX="" ;;
    postgres)
        PG_DB="behalf_robust_$$"; SUFFIX="-postgres"
        DB_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
        createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" || die "cannot create database $PG_DB" ;;
    *) die "DATABASE must be sqlite or postgres" ;;
esac
cleanup() {
    local rc=$?
    stop_pid "$SERVER_PID"
    if (( rc != 0 )) && [[ -f "$WORK/server.log" ]]; then tail -n 20 "$WORK/server.log" >&2 || true; fi
    [[ -n "$PG_DB" ]] && dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$PG_DB" 2>/dev/null || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

log "starting $BIN on $DATABASE"
"$BIN" --database-url "$DB_URL" serve --demo --bind "127.0.0.1:$PORT" --files-dir "$WORK/files" \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_up "$BASE" "$SERVER_PID" "server"

# server_classes -> "2xx=N 3xx=N 4xx=N 5xx=N" summed over routes, from /metrics (loopback)
server_classes() {
    curl -s --max-time 10 "$BASE/metrics" | awk '
        /^behalf_http_requests_total\{/ { match($0, /status="[0-9]xx"/); c = substr($0, RSTART + 8, 3); n[c] += $NF }
        /^behalf_connections_shed_total / { shed = $NF }
        END { printf "2xx=%d 3xx=%d 4xx=%d 5xx=%d shed503=%d", n["2xx"], n["3xx"], n["4xx"], n["5xx"], shed }'
}

log "malformed requests: $COUNT (bounded to ${FUZZ_SECONDS}s)"
BEFORE=$(server_classes)
set +e
timeout $(( FUZZ_SECONDS + 120 )) python3 "$ROOT/bench/robustness.py" --base "$BASE" --count "$COUNT" \
    --seconds "$FUZZ_SECONDS" >"$WORK/fuzz.json"
FUZZ_RC=$?
set -e
cat "$WORK/fuzz.json"
AFTER_FUZZ=$(server_classes)
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the malformed run"

log "$CONNECTIONS concurrent connections for ${CONCURRENT_SECONDS}s"
STAFF=$(login staff superadmin@example.com behalf-demo)
read -r IMP _ < <(impersonate "$STAFF" "$(staff_csrf "$STAFF")")
HALF=$(( CONNECTIONS / 2 ))
timeout $(( CONCURRENT_SECONDS + 60 )) wrk -t2 -c"$HALF" -d"${CONCURRENT_SECONDS}s" --timeout 10s "$BASE/login" \
    >"$WORK/wrk-login.txt" 2>&1 &
W1=$!
timeout $(( CONCURRENT_SECONDS + 60 )) wrk -t2 -c"$(( CONNECTIONS - HALF ))" -d"${CONCURRENT_SECONDS}s" --timeout 10s \
    -H "Cookie: behalf_client=$IMP" "$BASE/dashboard" >"$WORK/wrk-dashboard.txt" 2>&1 &
W2=$!
wait "$W1" || die "wrk on /login failed: $(cat "$WORK/wrk-login.txt")"
wait "$W2" || die "wrk on /dashboard failed: $(cat "$WORK/wrk-dashboard.txt")"
AFTER_LOAD=$(server_classes)
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the concurrent run"
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
grep -E "Requests/sec|Non-2xx|Socket errors|requests in" "$WORK/wrk-login.txt" "$WORK/wrk-dashboard.txt" || true

delta() { # delta BEFORE AFTER CLASS
    local b a
    b=$(tr ' ' '\n' <<<"$1" | awk -F= -v c="$3" '$1 == c {print $2}')
    a=$(tr ' ' '\n' <<<"$2" | awk -F= -v c="$3" '$1 == c {print $2}')
    echo $(( a - b ))
}
REPORT="$OUT/robustness$SUFFIX.txt"
{
    echo "database: $DATABASE"
    echo "malformed run (client side, by status):"
    cat "$WORK/fuzz.json"
    echo "malformed run (server side, by class): 2xx=$(delta "$BEFORE" "$AFTER_FUZZ" 2xx) 3xx=$(delta "$BEFORE" "$AFTER_FUZZ" 3xx) 4xx=$(delta "$BEFORE" "$AFTER_FUZZ" 4xx) 5xx=$(delta "$BEFORE" "$AFTER_FUZZ" 5xx) shed503=$(delta "$BEFORE" "$AFTER_FUZZ" shed503)"
    echo "concurrent run ($CONNECTIONS connections, ${CONCURRENT_SECONDS}s, server side): 2xx=$(delta "$AFTER_FUZZ" "$AFTER_LOAD" 2xx) 3xx=$(delta "$AFTER_FUZZ" "$AFTER_LOAD" 3xx) 4xx=$(delta "$AFTER_FUZZ" "$AFTER_LOAD" 4xx) 5xx=$(delta "$AFTER_FUZZ" "$AFTER_LOAD" 5xx) shed503=$(delta "$AFTER_FUZZ" "$AFTER_LOAD" shed503)"
    grep -h -E "requests in|Requests/sec|Non-2xx|Socket errors" "$WORK/wrk-login.txt" "$WORK/wrk-dashboard.txt" | sed 's/^/  wrk: /'
    echo "server peak RSS: $(mb "$RSS_KB") MB"
    echo "server log lines: $(wc -l <"$WORK/server.log"), by kind:"
    sed -E 's/\x1b\[[0-9;]*m//g; s/^[^ ]+ +//; s/[0-9]+/N/g' "$WORK/server.log" | cut -c1-160 | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/  /'
} | tee "$REPORT"
FIVE=$(( $(delta "$BEFORE" "$AFTER_LOAD" 5xx) ))
(( FUZZ_RC == 0 )) || die "the malformed run saw answers >= 500 other than 503 (see above)"
(( FIVE == 0 )) || die "the server answered 5xx $FIVE times"
log "report: $REPORT"
