#!/usr/bin/env bash
# Two Behalf nodes on one PostgreSQL database: one node against two (release build, loopback
# only, bounded in time).
#
#   bench/nodes.sh [--build]
#
# Creates a fresh database behalf_nodes_PID, starts node A with --demo (it migrates and loads the
# demo data), then node B on the same database without --demo, and for each scenario runs
#   one node:  wrk -t THREADS -c CONNECTIONS against node A alone
#   two nodes: two wrk processes at once, one per node, each with half the threads and
#              connections (the same sessions: they live in the database, so either node takes them)
# and reports the summed req/s and each wrk's p50/p99, the CPU used by each node, PostgreSQL and
# the rest (wrk) during each run, and the peak RSS of each node. Both nodes and the database are
# stopped and dropped on exit (also on error or Ctrl-C).
#
# Scenarios (as in bench/run.sh):
#   dashboard-impersonated  GET /dashboard while admin is logged in as jane
#   dashboard-own           GET /dashboard as client jane, her own session
#   start-return            Login as Client cycles (one thread and one staff account per connection)
#   ticket-reply            POST /tickets/1/replies while logged in as jane in full mode
#
# Environment:
#   CONNECTIONS  wrk connections per run, split in two for two nodes     (default 32, even)
#   DURATION     wrk duration per run: 10s, 1m, or seconds              (default 10s)
#   THREADS      wrk threads for the non-cycle scenarios, split in two   (default 2, even)
#   PORT_A, PORT_B  loopback ports of the two nodes                 (default 18090, 18091)
#   SCENARIOS    space-separated subset, run in the order given
#                (default: dashboard-impersonated dashboard-own start-return ticket-reply)
#   BEHALF_BIN   server binary                            (default target/release/behalf)
#   PG_HOST, PG_PORT, PG_USER  PostgreSQL server          (default 127.0.0.1, 5432, postgres)
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
PORT_A=${PORT_A:-18090}
PORT_B=${PORT_B:-18091}
SCENARIOS=${SCENARIOS:-"dashboard-impersonated dashboard-own start-return ticket-reply"}
BIN=${BEHALF_BIN:-"$ROOT/target/release/behalf"}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
HOST=127.0.0.1
BASE_A="http://$HOST:$PORT_A"
BASE=$BASE_A   # the sign-in helpers of bench/lib.sh talk to node A
BASE_B="http://$HOST:$PORT_B"
BUILD=0

COMMAND_LINE="CONNECTIONS=$CONNECTIONS DURATION=$DURATION THREADS=$THREADS SCENARIOS=\"$SCENARIOS\" bench/nodes.sh${*:+ $*}"

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "nodes.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*"; }

for arg in "$@"; do
    case "$arg" in
        --build) BUILD=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

# ---- checks -------------------------------------------------------------------------------
for tool in wrk curl timeout awk createdb dropdb; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed (apt-get install $tool)"
done
if ! [[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || (( CONNECTIONS % 2 )); then
    die "CONNECTIONS must be a positive even number, got '$CONNECTIONS'"
fi
if ! [[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || (( THREADS % 2 )); then
    die "THREADS must be a positive even number, got '$THREADS'"
fi
(( THREADS <= CONNECTIONS )) || die "THREADS ($THREADS) must not exceed CONNECTIONS ($CONNECTIONS)"
for p in "$PORT_A" "$PORT_B" "$PG_PORT"; do [[ "$p" =~ ^[0-9]+$ ]] || die "ports must be numbers, got '$p'"; done
[[ "$PORT_A" != "$PORT_B" ]] || die "PORT_A and PORT_B must differ"
HALF_C=$(( CONNECTIONS / 2 ))
HALF_T=$(( THREADS / 2 ))

case "$DURATION" in
    *[0-9]s) DUR_SECS=${DURATION%s} ;;
    *[0-9]m) DUR_SECS=$(( ${DURATION%m} * 60 )) ;;
    *[0-9]h) DUR_SECS=$(( ${DURATION%h} * 3600 )) ;;
    *) DUR_SECS=$DURATION ;;
esac
[[ "$DUR_SECS" =~ ^[1-9][0-9]*$ ]] || die "DURATION must look like 10s, 2m or 30, got '$DURATION'"
WRK_TIMEOUT=$(( DUR_SECS + 30 ))

for s in $SCENARIOS; do
    case "$s" in
        dashboard-impersonated|dashboard-own|start-return|ticket-reply) ;;
        *) die "unknown scenario '$s'" ;;
    esac
done

if (( BUILD )) || [[ ! -x "$BIN" ]]; then
    log "building release binary: cargo build --release"
    cargo build --release
fi
[[ -x "$BIN" ]] || die "server binary $BIN not found"

for base in "$BASE_A" "$BASE_B"; do
    if curl -s -o /dev/null --max-time 2 "$base/healthz"; then
        die "something already answers on $base; set PORT_A / PORT_B to free ports"
    fi
done

# ---- database and nodes -------------------------------------------------------------------
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/behalf-nodes.XXXXXX")
PG_DB="behalf_nodes_$$"
DB_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
DB_CREATED=0
PID_A=""
PID_B=""
SAMPLER_PID=""

cleanup() {
    local rc=$?
    if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; fi
    stop_pid "$PID_A"
    stop_pid "$PID_B"
    if (( rc != 0 )); then
        for n in a b; do
            if [[ -f "$WORK/node-$n.log" ]]; then
                echo "---- last lines of node ${n^^}'s log ----" >&2
                tail -n 15 "$WORK/node-$n.log" >&2 || true
            fi
        done
    fi
    if (( DB_CREATED )); then
        dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$PG_DB" 2>/dev/null \
            || dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists "$PG_DB" \
            || echo "nodes.sh: warning: could not drop database $PG_DB" >&2
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# Behalf on two nodes"
echo "command: $COMMAND_LINE"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty)')"
echo "machine: $(nproc) cores, $(uname -sr); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}')"
echo

log "creating database $PG_DB on $PG_HOST:$PG_PORT"
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" \
    || die "createdb $PG_DB failed (is PostgreSQL running on $PG_HOST:$PG_PORT?)"
DB_CREATED=1

# Both nodes use one files directory, as shared storage (NFS or the like) would be in production.
mkdir -p "$WORK/files"
log "starting node A: $BIN --database-url $DB_URL serve --demo --bind $HOST:$PORT_A"
BEHALF_FILES_DIR="$WORK/files" "$BIN" --database-url "$DB_URL" serve --demo --bind "$HOST:$PORT_A" >"$WORK/node-a.log" 2>&1 &
PID_A=$!
wait_up "$BASE_A" "$PID_A" "node A"
log "starting node B: $BIN --database-url $DB_URL serve --bind $HOST:$PORT_B"
BEHALF_FILES_DIR="$WORK/files" "$BIN" --database-url "$DB_URL" serve --bind "$HOST:$PORT_B" >"$WORK/node-b.log" 2>&1 &
PID_B=$!
wait_up "$BASE_B" "$PID_B" "node B"

# ---- memory sampling ----------------------------------------------------------------------
# Every 0.2s: "<phase> <VmRSS A kB> <VmHWM A kB> <VmRSS B kB> <VmHWM B kB>"
echo setup >"$WORK/phase"
rss_of() { awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} END{print r+0, h+0}' "/proc/$1/status" 2>/dev/null; }
(
    while kill -0 "$PID_A" 2>/dev/null && kill -0 "$PID_B" 2>/dev/null; do
        a=$(rss_of "$PID_A") || break
        b=$(rss_of "$PID_B") || break
        echo "$(cat "$WORK/phase" 2>/dev/null || echo ?) $a $b" >>"$WORK/rss.log"
        sleep 0.2
    done
) &
SAMPLER_PID=$!
RSS_START_A=$(rss_of "$PID_A" | awk '{print $1}')
RSS_START_B=$(rss_of "$PID_B" | awk '{print $1}')


# ---- CPU accounting -----------------------------------------------------------------------
# cpu_snapshot FILE -> "BUSY_TICKS NODE_A_TICKS NODE_B_TICKS" (clock ticks since boot), and
# writes "PID TICKS" of every process named postgres to FILE. BUSY is the whole machine's
# non-idle time. What is left (BUSY - A - B - PostgreSQL) is wrk, curl and anything else
# running on the machine.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_snapshot() {
    local busy
    busy=$(awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat)
    awk '$2 == "(postgres)" {print $1, $14 + $15}' /proc/[0-9]*/stat >"$1" 2>/dev/null || true
    echo "$busy $(proc_ticks "$PID_A") $(proc_ticks "$PID_B")"
}
# pg_delta BEFORE_FILE AFTER_FILE -> ticks of the postgres processes alive at the end: per
# process after − before, whole for one that started in between. The nodes' pooled connections
# live through a run; a backend that ended in between (another program's short connection, or a
# restart of the server) is not counted, and its time shows under "rest".
pg_delta() {
    awk 'NR == FNR {b[$1] = $2; next} {t += $2 - (($1 in b) ? b[$1] : 0)} END{print t + 0}' "$1" "$2"
}
HZ=$(getconf CLK_TCK)
now_s() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN{printf "%.3f", b - a}'; }
# background_load: cores busy during one second with no load sent (other work on the machine)
background_load() {
    local b a t0
    t0=$(now_s); b=$(cpu_snapshot "$WORK/pg.bg0"); sleep 1; a=$(cpu_snapshot "$WORK/pg.bg1")
    cpu_cores "$b" "$a" "$(elapsed "$t0")" | awk '{print $1}'
}
# cpu_cores BEFORE AFTER SECONDS PG_TICKS -> "busy A B pg rest" in cores (1.00 = one core busy)
cpu_cores() {
    awk -v hz="$HZ" -v secs="$3" -v b="$1" -v a="$2" -v pgt="${4:-0}" 'BEGIN{
        split(b, x, " "); split(a, y, " ");
        busy = (y[1]-x[1]) / hz / secs; na = (y[2]-x[2]) / hz / secs; nb = (y[3]-x[3]) / hz / secs;
        pg = pgt / hz / secs; rest = busy - na - nb - pg; if (rest < 0) rest = 0;
        printf "%.2f %.2f %.2f %.2f %.2f", busy, na, nb, pg, rest }'
}

# ---- helpers (as in bench/run.sh; every call goes to node A unless a base is given) ---------
# both_serve_dashboard CLIENT_COOKIE WHAT: a session made on node A must work on node B too
both_serve_dashboard() {
    local a b
    a=$(http_code -H "Cookie: behalf_client=$1" "$BASE_A/dashboard")
    b=$(http_code -H "Cookie: behalf_client=$1" "$BASE_B/dashboard")
    [[ "$a" == 200 && "$b" == 200 ]] || die "$2: GET /dashboard answered $a on node A and $b on node B (expected 200 on both)"
}

# ---- sessions -----------------------------------------------------------------------------
log "logging in jane@example.com and admin@example.com on node A"
JANE=$(login client jane@example.com behalf-demo)
ADMIN=$(login staff admin@example.com behalf-demo)
ADMIN_CSRF=$(staff_csrf "$ADMIN")
both_serve_dashboard "$JANE" "jane's own session"

if [[ " $SCENARIOS " == *" start-return "* ]]; then
    log "creating and logging in $CONNECTIONS bench staff accounts (one per start-return connection)"
    : >"$WORK/staff-all.txt"
    for i in $(seq -f '%02g' 1 "$CONNECTIONS"); do
        printf 'bench-password-%s' "$i" \
            | "$BIN" --database-url "$DB_URL" staff add "bench$i@example.com" --name "Bench $i" --role admin >/dev/null \
            || die "could not add staff bench$i@example.com"
    done
    for i in $(seq -f '%02g' 1 "$CONNECTIONS"); do
        c=$(login staff "bench$i@example.com" "bench-password-$i")
        echo "$c $(staff_csrf "$c")" >>"$WORK/staff-all.txt"
    done
    # Two nodes: the first half of the accounts drive node A, the second half node B.
    head -n "$HALF_C" "$WORK/staff-all.txt" >"$WORK/staff-a.txt"
    tail -n +"$(( HALF_C + 1 ))" "$WORK/staff-all.txt" >"$WORK/staff-b.txt"
fi

# ---- runs ---------------------------------------------------------------------------------
declare -A R   # R[scenario.run.field]: run is one | a | b; field is rps p50 p99 note
declare -A CPU CMDS BG
RESULTS_ORDER=()

field_of() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" ${1#BENCH_RESULT}"; }

# parse_result FILE KEY -> fills R[KEY.rps|p50|p99|note]
parse_result() {
    local line rc_note=$3
    line=$(grep '^BENCH_RESULT ' "$1" | tail -n1 || true)
    if [[ -n "$rc_note" || -z "$line" ]]; then
        echo "WARNING: wrk for $2 failed (${rc_note:-no result line})"
        R[$2.rps]=FAILED; R[$2.p50]=-; R[$2.p99]=-; R[$2.note]="wrk failed (${rc_note:-no result})"
        return 0
    fi
    R[$2.rps]=$(field_of "$line" rps); R[$2.p50]=$(field_of "$line" p50_ms); R[$2.p99]=$(field_of "$line" p99_ms)
    local note bad sock
    note="statuses $(field_of "$line" statuses)"
    bad=$(field_of "$line" unexpected); sock=$(field_of "$line" sock_errors)
    (( bad == 0 )) || note+="; $bad unexpected"
    (( sock == 0 )) || note+="; $sock socket errors"
    [[ "$2" != start-return.* ]] || note="$(field_of "$line" cycles_per_s) cycles/s; $note"
    R[$2.note]=$note
}

# wrk_args SCENARIO BASE THREADS CONNECTIONS STAFF_FILE -> prints one wrk argument per line
wrk_args() {
    local s=$1 base=$2 t=$3 c=$4 staff=$5
    local common=(--latency --timeout 5s -d "$DURATION")
    case "$s" in
        dashboard-impersonated)
            printf '%s\n' -t "$t" -c "$c" "${common[@]}" -H "Cookie: behalf_client=$IMP" -s "$BENCH/dashboard.lua" "$base/dashboard" ;;
        dashboard-own)
            printf '%s\n' -t "$t" -c "$c" "${common[@]}" -H "Cookie: behalf_client=$JANE" -s "$BENCH/dashboard.lua" "$base/dashboard" ;;
        start-return)
            printf '%s\n' -t "$c" -c "$c" "${common[@]}" -s "$BENCH/start_return.lua" "$base/" -- "$staff" 1 ;;
        ticket-reply)
            printf '%s\n' -t "$t" -c "$c" "${common[@]}" -s "$BENCH/ticket_reply.lua" "$base/" -- "$IMP" "$IMP_CSRF" 1 ;;
    esac
}

# run_one SCENARIO: wrk against node A alone with every connection
run_one() {
    local s=$1 rc=0 before after
    local -a args cmd
    mapfile -t args < <(wrk_args "$s" "$BASE_A" "$THREADS" "$CONNECTIONS" "$WORK/staff-all.txt")
    cmd=(timeout --kill-after=5 "$WRK_TIMEOUT" wrk "${args[@]}")
    echo
    log "scenario $s, one node (A)"
    CMDS[$s.one]=$(printf '%q ' "${cmd[@]}"); echo "\$ ${CMDS[$s.one]}"
    BG[$s.one]=$(background_load)
    echo "$s.one" >"$WORK/phase"
    local t0; t0=$(now_s); before=$(cpu_snapshot "$WORK/pg.0")
    "${cmd[@]}" >"$WORK/$s.one.out" 2>&1 || rc=$?
    after=$(cpu_snapshot "$WORK/pg.1"); local secs; secs=$(elapsed "$t0")
    echo idle >"$WORK/phase"
    cat "$WORK/$s.one.out"; cp "$WORK/$s.one.out" "$OUT/nodes-$s-one.txt"
    CPU[$s.one]=$(cpu_cores "$before" "$after" "$secs" "$(pg_delta "$WORK/pg.0" "$WORK/pg.1")")
    parse_result "$WORK/$s.one.out" "$s.one" "$( (( rc == 0 )) || echo "wrk exit $rc")"
}

# run_two SCENARIO: two wrk processes at once, half the threads and connections each, one per node
run_two() {
    local s=$1 rc_a=0 rc_b=0 before after pid_a pid_b
    local -a args_a args_b cmd_a cmd_b
    mapfile -t args_a < <(wrk_args "$s" "$BASE_A" "$HALF_T" "$HALF_C" "$WORK/staff-a.txt")
    mapfile -t args_b < <(wrk_args "$s" "$BASE_B" "$HALF_T" "$HALF_C" "$WORK/staff-b.txt")
    cmd_a=(timeout --kill-after=5 "$WRK_TIMEOUT" wrk "${args_a[@]}")
    cmd_b=(timeout --kill-after=5 "$WRK_TIMEOUT" wrk "${args_b[@]}")
    echo
    log "scenario $s, two nodes (A and B at once)"
    CMDS[$s.a]=$(printf '%q ' "${cmd_a[@]}"); echo "\$ ${CMDS[$s.a]} &"
    CMDS[$s.b]=$(printf '%q ' "${cmd_b[@]}"); echo "\$ ${CMDS[$s.b]}"
    BG[$s.two]=$(background_load)
    echo "$s.two" >"$WORK/phase"
    local t0; t0=$(now_s); before=$(cpu_snapshot "$WORK/pg.0")
    "${cmd_a[@]}" >"$WORK/$s.a.out" 2>&1 & pid_a=$!
    "${cmd_b[@]}" >"$WORK/$s.b.out" 2>&1 & pid_b=$!
    wait "$pid_a" || rc_a=$?
    wait "$pid_b" || rc_b=$?
    after=$(cpu_snapshot "$WORK/pg.1"); local secs; secs=$(elapsed "$t0")
    echo idle >"$WORK/phase"
    echo "-- wrk against node A --"; cat "$WORK/$s.a.out"; cp "$WORK/$s.a.out" "$OUT/nodes-$s-two-a.txt"
    echo "-- wrk against node B --"; cat "$WORK/$s.b.out"; cp "$WORK/$s.b.out" "$OUT/nodes-$s-two-b.txt"
    CPU[$s.two]=$(cpu_cores "$before" "$after" "$secs" "$(pg_delta "$WORK/pg.0" "$WORK/pg.1")")
    parse_result "$WORK/$s.a.out" "$s.a" "$( (( rc_a == 0 )) || echo "wrk exit $rc_a")"
    parse_result "$WORK/$s.b.out" "$s.b" "$( (( rc_b == 0 )) || echo "wrk exit $rc_b")"
}

IMP=""; IMP_CSRF=""
for s in $SCENARIOS; do
    case "$s" in
        dashboard-impersonated|ticket-reply)
            pair=$(impersonate "$ADMIN" "$ADMIN_CSRF"); read -r IMP IMP_CSRF <<<"$pair"
            both_serve_dashboard "$IMP" "$s (impersonation started on node A)"
            ;;
    esac
    run_one "$s"
    sleep 1
    if [[ "$s" == ticket-reply || "$s" == dashboard-impersonated ]]; then
        # a fresh impersonation for the two-node run, so both runs start from the same state
        pair=$(impersonate "$ADMIN" "$ADMIN_CSRF"); read -r IMP IMP_CSRF <<<"$pair"
        both_serve_dashboard "$IMP" "$s (impersonation started on node A)"
    fi
    run_two "$s"
    RESULTS_ORDER+=("$s")
    sleep 1
done

# ---- memory -------------------------------------------------------------------------------
sleep 1
read -r RSS_END_A HWM_A < <(rss_of "$PID_A")
read -r RSS_END_B HWM_B < <(rss_of "$PID_B")
kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
SAMPLED_A=$(awk '$1 != "setup" && $2 > m {m=$2} END{print m+0}' "$WORK/rss.log")
SAMPLED_B=$(awk '$1 != "setup" && $4 > m {m=$4} END{print m+0}' "$WORK/rss.log")
PEAK_A=$(( HWM_A > SAMPLED_A ? HWM_A : SAMPLED_A ))
PEAK_B=$(( HWM_B > SAMPLED_B ? HWM_B : SAMPLED_B ))

# ---- report -------------------------------------------------------------------------------
sum2() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.1f", a + b; else print "FAILED" }'; }
change() { awk -v o="$1" -v t="$2" 'BEGIN{ if (o ~ /^[0-9.]+$/ && t ~ /^[0-9.]+$/ && o > 0) printf "%+.0f %%", (t - o) * 100 / o; else print "-" }'; }

report() {
    echo "## Behalf on two nodes (PostgreSQL)"
    echo
    echo "- command: \`$COMMAND_LINE\`"
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- binary: $BIN (built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ))"
    echo "- machine: $(nproc) cores shared by wrk, both nodes and PostgreSQL; loopback $BASE_A (A) and $BASE_B (B); one PostgreSQL demo database on $PG_HOST:$PG_PORT"
    echo "- one node: wrk -t $THREADS -c $CONNECTIONS against A; two nodes: two wrk at once, -t $HALF_T -c $HALF_C each, one per node (start-return: one thread per connection); $DURATION per run"
    echo
    echo "| scenario | 1 node req/s | p50 ms | p99 ms | 2 nodes req/s (A+B) | A req/s, p50, p99 | B req/s, p50, p99 | change |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    local s two
    for s in "${RESULTS_ORDER[@]}"; do
        two=$(sum2 "${R[$s.a.rps]}" "${R[$s.b.rps]}")
        echo "| $s | ${R[$s.one.rps]} | ${R[$s.one.p50]} | ${R[$s.one.p99]} | $two | ${R[$s.a.rps]}, ${R[$s.a.p50]}, ${R[$s.a.p99]} | ${R[$s.b.rps]}, ${R[$s.b.p50]}, ${R[$s.b.p99]} | $(change "${R[$s.one.rps]}" "$two") |"
    done
    echo
    echo "CPU during each run, in cores ($(nproc).00 = the whole machine): busy = all non-idle time; PostgreSQL = the postgres processes alive at the end of the run; rest = busy − nodes − PostgreSQL (wrk, and anything else running); background = cores busy in the second before the run, with no load sent (other work on the machine):"
    echo
    echo "| scenario | run | background | busy | node A | node B | PostgreSQL | rest (wrk …) |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    local run busy a b pg rest
    for s in "${RESULTS_ORDER[@]}"; do
        for run in one two; do
            read -r busy a b pg rest <<<"${CPU[$s.$run]}"
            echo "| $s | $([[ $run == one ]] && echo "1 node" || echo "2 nodes") | ${BG[$s.$run]} | $busy | $a | $b | $pg | $rest |"
        done
    done
    echo
    echo "Peak RSS: node A $(mb "$PEAK_A") MB (after start-up $(mb "$RSS_START_A") MB, at the end $(mb "$RSS_END_A") MB; it loaded the demo data), node B $(mb "$PEAK_B") MB (after start-up $(mb "$RSS_START_B") MB, at the end $(mb "$RSS_END_B") MB)"
    echo
    echo "Notes:"
    for s in "${RESULTS_ORDER[@]}"; do
        echo "- $s: 1 node: ${R[$s.one.note]}; 2 nodes: A ${R[$s.a.note]}, B ${R[$s.b.note]}"
    done
    echo
    echo "wrk command lines (session tokens are throwaway, from a temporary database):"
    echo
    for s in "${RESULTS_ORDER[@]}"; do
        echo "    ${CMDS[$s.one]}"
        echo "    ${CMDS[$s.a]} &"
        echo "    ${CMDS[$s.b]}"
    done
}
echo
report | tee "$OUT/latest-nodes.md"
echo
log "written to $OUT/latest-nodes.md (raw wrk output in $OUT/nodes-<scenario>-*.txt)"
