#!/usr/bin/env bash
# Activity log at scale: admin list pages and `behalf audit export` over 1,000,000 activity rows
# (release build, SQLite, loopback only, every step bounded in time).
#
#   bench/activity.sh [--no-build] [--no-record]
#
#   --no-build   use the existing binary instead of running `cargo build --release` first
#                (BEHALF_BIN set also skips the build)
#   --no-record  print the results only; by default they are also appended to bench/RESULTS.md
#
# Environment:
#   ROWS         activity rows to bulk-insert                     (default 1000000)
#   REPS         timed requests per page, after one warm-up       (default 9)
#   PORT         loopback port for the server                     (default 18181)
#   BEHALF_BIN   server binary                        (default target/release/behalf)
#   EXPORT_TIMEOUT  seconds each export may take before it counts as timed out (default 600)
#
# The bulk rows are written straight into SQLite with a recursive CTE; their prev_hash / hash are
# random, so `behalf audit verify` fails on this database by design. audit_head is set to the
# newest row (last_id = max id) so appends would continue the numbering. 20,000 ended Login as
# Client sessions are inserted too, and about a quarter of the rows name one of them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
cd "$ROOT"

ROWS=${ROWS:-1000000}
REPS=${REPS:-9}
PORT=${PORT:-18181}
BIN=${BEHALF_BIN:-"$ROOT/target/release/behalf"}
SQLITE=/usr/bin/sqlite3
HOST=127.0.0.1
BASE="http://$HOST:$PORT"
IMPERSONATIONS=20000
PAGE_TARGET_MS=50
EXPORT_TIMEOUT=${EXPORT_TIMEOUT:-600}
BUILD=1
RECORD=1

COMMAND_LINE="ROWS=$ROWS REPS=$REPS PORT=$PORT${BEHALF_BIN:+ BEHALF_BIN=$BEHALF_BIN} bench/activity.sh${*:+ $*}"

usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "activity.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        --no-record) RECORD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

# ---- checks -------------------------------------------------------------------------------
for tool in curl timeout awk sort; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed"
done
[[ -x "$SQLITE" ]] || die "$SQLITE is required (apt-get install sqlite3)"
[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive integer, got '$ROWS'"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$REPS'"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$PORT'"

if (( BUILD )) && [[ -z "${BEHALF_BIN:-}" ]]; then
    log "building release binary: cargo build --release"
    timeout 1800 cargo build --release >&2
fi
[[ -x "$BIN" ]] || die "server binary $BIN not found (run without --no-build)"

if curl -s -o /dev/null --max-time 2 "$BASE/healthz"; then
    die "something already answers on $BASE; set PORT to a free port"
fi

# ---- database -----------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/behalf-activity.XXXXXX")
DB="$WORK/a.db"
DB_URL="sqlite://$DB"
SERVER_PID=""

cleanup() {
    local rc=$?
    stop_pid "$SERVER_PID"
    if (( rc != 0 )) && [[ -f "$WORK/server.log" ]]; then
        echo "---- last lines of the server log ----" >&2
        tail -n 20 "$WORK/server.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "creating $DB: migrate, demo"
timeout 60 "$BIN" --database-url "$DB_URL" migrate >/dev/null
timeout 120 "$BIN" --database-url "$DB_URL" demo >/dev/null 2>&1

log "bulk-inserting $ROWS activity rows and $IMPERSONATIONS ended impersonations with $SQLITE"
GEN_START=$(date +%s.%N)
timeout 600 "$SQLITE" "$DB" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $IMPERSONATIONS)
INSERT INTO impersonations (id, staff_id, client_id, store_id, reason, mode, ip, user_agent,
                            started_at, last_seen_at, ends_by, ended_at, end_reason)
SELECT (SELECT COALESCE(MAX(id), 0) FROM impersonations) + i, 1 + i % 3, 1 + (i * 7) % 204, NULL,
       'bench ticket ' || i, CASE WHEN i % 4 = 0 THEN 'full' ELSE 'read_only' END, '127.0.0.1', 'bench',
       1700000000 + i * 1500, 1700000600 + i * 1500, 1700003600 + i * 1500, 1700000900 + i * 1500, 'returned'
FROM n;
-- k = i % 10 picks the group: 0 login_as_client, 1-4 tickets, 5-6 security, 7 settings,
-- 8 account, 9 billing. Staff act in login_as_client and settings rows and in a third of the
-- ticket rows (those through Login as Client); clients act in the rest.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS),
r AS (
    SELECT i, (SELECT COALESCE(MAX(id), 0) FROM activity) + i AS id, i % 10 AS k,
           1 + (i * 7919) % 204 AS client, 1 + (i / 10) % 5 AS staff,
           (i % 10 IN (0, 7) OR (i % 10 BETWEEN 1 AND 4 AND i % 3 = 0)) AS by_staff
    FROM n
)
INSERT INTO activity (id, at, subject_client_id, actor_kind, actor_staff_id, actor_client_id, impersonation_id,
                      action_group, action, target, detail, ip, prev_hash, hash)
SELECT id, 1700000000 + i * 30,
       CASE WHEN k = 7 THEN NULL ELSE client END,
       CASE WHEN by_staff THEN 'staff' ELSE 'client' END,
       CASE WHEN by_staff THEN staff END,
       CASE WHEN by_staff THEN NULL ELSE client END,
       CASE WHEN k = 0 OR (k BETWEEN 1 AND 4 AND by_staff) THEN 1 + (i / 10) % $IMPERSONATIONS END,
       CASE k WHEN 0 THEN 'login_as_client' WHEN 5 THEN 'security' WHEN 6 THEN 'security'
              WHEN 7 THEN 'settings' WHEN 8 THEN 'account' WHEN 9 THEN 'billing' ELSE 'tickets' END,
       CASE k WHEN 0 THEN 'impersonation.start' WHEN 5 THEN 'login' WHEN 6 THEN 'logout'
              WHEN 7 THEN 'setting.change' WHEN 8 THEN 'profile.update' WHEN 9 THEN 'invoice.pay'
              ELSE 'ticket.reply' END,
       'ticket #' || (i % 1000), CASE WHEN k = 7 THEN 'impersonation.idle_timeout: 15m -> 20m' ELSE '' END,
       '127.0.0.1', lower(hex(randomblob(32))), lower(hex(randomblob(32)))
FROM r;
UPDATE audit_head SET last_id = (SELECT MAX(id) FROM activity),
       last_hash = (SELECT hash FROM activity ORDER BY id DESC LIMIT 1)
WHERE id = 1;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
GEN_S=$(awk -v a="$GEN_START" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
TOTAL_ROWS=$("$SQLITE" "$DB" "SELECT COUNT(*) FROM activity")
DB_MB=$(du -m "$DB" | awk '{print $1}')
log "activity has $TOTAL_ROWS rows (${GEN_S}s to insert; database ${DB_MB} MB)"

# ---- server -------------------------------------------------------------------------------
log "starting server: $BIN --database-url $DB_URL serve --bind $HOST:$PORT"
"$BIN" --database-url "$DB_URL" serve --bind "$HOST:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_up "$BASE" "$SERVER_PID" server

log "signing in admin@example.com"
STAFF=$(login staff admin@example.com behalf-demo)

# ---- pages --------------------------------------------------------------------------------
PAGES=(
    "/admin/activity"
    "/admin/activity?page=100"
    "/admin/activity?page=10000"
    "/admin/activity?group=tickets"
    "/admin/activity?client=42"
    "/admin/activity?actor=staff:2"
    "/admin/activity?actor=client:42"
    "/admin/activity?group=tickets&page=5000"
    "/admin/impersonations"
)
declare -A MEDIAN MAX FIRST SHOWN
for path in "${PAGES[@]}"; do
    log "GET $path: 1 warm-up + $REPS timed"
    times=()
    for r in $(seq 0 "$REPS"); do
        out=$(curl -sS -o "$WORK/body.html" -w '%{http_code} %{time_total}' --max-time 30 \
            -H "Cookie: behalf_staff=$STAFF" "$BASE$path") || die "GET $path failed"
        read -r code secs <<<"$out"
        [[ "$code" == 200 ]] || die "GET $path answered $code"
        ms=$(awk -v s="$secs" 'BEGIN{printf "%.1f", s * 1000}')
        if (( r == 0 )); then FIRST[$path]=$ms; else times+=("$ms"); fi
    done
    # What the page says it shows, so a fast empty page cannot pass unnoticed.
    rows=$(grep -o '<tr' "$WORK/body.html" | wc -l)
    SHOWN[$path]="$(( rows > 0 ? rows - 1 : 0 )) rows; $(grep -o '[0-9][0-9,]* \(entries\|sessions\)' "$WORK/body.html" | head -n1 || true)"
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    MEDIAN[$path]=$(awk '{a[NR]=$1} END{ if (NR % 2) print a[(NR+1)/2]; else printf "%.1f", (a[NR/2]+a[NR/2+1])/2 }' <<<"$sorted")
    MAX[$path]=$(tail -n1 <<<"$sorted")
done
SERVER_HWM_KB=$(awk '/^VmHWM:/{print $2}' "/proc/$SERVER_PID/status")

# ---- export -------------------------------------------------------------------------------
# Wall time and max RSS of `audit export` to /dev/null, from GNU time when present, else from
# sampling VmHWM in /proc while it runs. A second, untimed run counts the lines.
declare -A EXP_WALL EXP_RSS EXP_LINES
for format in csv jsonl; do
    log "audit export --format $format > /dev/null (at most ${EXPORT_TIMEOUT}s)"
    rc=0
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -v -o "$WORK/time.txt" timeout "$EXPORT_TIMEOUT" \
            "$BIN" --database-url "$DB_URL" audit export --format "$format" >/dev/null 2>"$WORK/export.err" || rc=$?
        EXP_WALL[$format]=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; printf "%.2f", s}' "$WORK/time.txt")
        EXP_RSS[$format]=$(awk -F': ' '/Maximum resident set size/{print $2}' "$WORK/time.txt")
    else
        start=$(date +%s.%N)
        timeout "$EXPORT_TIMEOUT" "$BIN" --database-url "$DB_URL" audit export --format "$format" >/dev/null 2>"$WORK/export.err" &
        epid=$!
        hwm=0
        while kill -0 "$epid" 2>/dev/null; do
            # timeout's child is the export itself
            for p in "$epid" $(cat "/proc/$epid/task/$epid/children" 2>/dev/null || true); do
                h=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
                (( ${h:-0} > hwm )) && hwm=$h
            done
            sleep 0.05
        done
        wait "$epid" || rc=$?
        EXP_WALL[$format]=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
        EXP_RSS[$format]="$hwm (sampled)"
    fi
    if (( rc == 124 )); then
        EXP_WALL[$format]="> $EXPORT_TIMEOUT (timed out)"
        EXP_LINES[$format]="-"
        continue
    fi
    (( rc == 0 )) || die "export --format $format failed (exit $rc): $(tail -n3 "$WORK/export.err")"
    EXP_LINES[$format]=$(timeout "$EXPORT_TIMEOUT" "$BIN" --database-url "$DB_URL" audit export --format "$format" 2>/dev/null | wc -l)
done

# ---- report -------------------------------------------------------------------------------
verdict() { awk -v m="$1" -v t="$PAGE_TARGET_MS" 'BEGIN{print (m < t) ? "met" : "**not met**"}'; }
report() {
    if (( ROWS == 1000000 )); then echo "## Activity log at 1,000,000 rows"; else echo "## Activity log at $ROWS rows"; fi
    echo
    echo "- command: \`$COMMAND_LINE\`"
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes in src/)')"
    echo "- binary: $BIN (built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ))"
    echo "- machine: $(nproc) cores, $(uname -sr); server, curl and SQLite on the same machine, loopback $BASE"
    echo "- data: demo database plus $ROWS bulk activity rows ($TOTAL_ROWS in all, ${DB_MB} MB, inserted in ${GEN_S}s) and $IMPERSONATIONS ended impersonations; no ANALYZE (the app never runs it). The bulk rows' hashes do not chain, so \`audit verify\` fails on this database by design"
    echo "- pages: admin@example.com, one warm-up request then $REPS timed with \`curl -w %{time_total}\`; target < $PAGE_TARGET_MS ms"
    echo
    echo "| request | median ms | max ms | first ms | shown | < $PAGE_TARGET_MS ms |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    for path in "${PAGES[@]}"; do
        echo "| \`GET $path\` | ${MEDIAN[$path]} | ${MAX[$path]} | ${FIRST[$path]} | ${SHOWN[$path]} | $(verdict "${MAX[$path]}") |"
    done
    echo
    echo "Server peak RSS (VmHWM) after the page requests: $(mb "$SERVER_HWM_KB") MB."
    echo
    echo "| export to /dev/null | wall s | max RSS MB | lines |"
    echo "| --- | ---: | ---: | ---: |"
    for format in csv jsonl; do
        rss=${EXP_RSS[$format]}
        echo "| \`behalf audit export --format $format\` | ${EXP_WALL[$format]} | $(mb "${rss%% *}")${rss#"${rss%% *}"} | ${EXP_LINES[$format]} |"
    done
}
REPORT=$(report)
echo
echo "$REPORT"
if (( RECORD )); then
    { echo; echo "$REPORT"; } >>"$ROOT/bench/RESULTS.md"
    log "appended to bench/RESULTS.md"
fi
