#!/usr/bin/env bash
# Big client: portal and admin pages of a client with 10,000 invoices, 1,000 orders and 5,000
# tickets next to the same pages of jane@example.com (20 invoices, 3 orders, 5 tickets), to check
# "a client with 10,000 invoices and 1,000 orders gets pages as fast as one with 20, because
# every list pages" (release build, SQLite, loopback only, every step bounded in time).
#
#   bench/big_client.sh [--no-build] [--no-record]
#
#   --no-build   use the existing binary instead of running `cargo build --release` first
#                (BEHALF_BIN set also skips the build)
#   --no-record  print the results only; by default they are also appended to bench/RESULTS.md
#
# Environment:
#   INVOICES     invoices to bulk-insert for the big client, 2 lines each   (default 10000)
#   ORDERS       orders to bulk-insert for the big client                   (default 1000)
#   TICKETS      tickets to bulk-insert for the big client, 1 reply each    (default 5000)
#   REPS         timed requests per page and client, after one warm-up      (default 9)
#   PORT         loopback port for the server                               (default 18182)
#   BEHALF_BIN   server binary                                  (default target/release/behalf)
#
# The big client is the generated demo client client0001@example.com; the bulk rows are written
# straight into SQLite with recursive CTEs on top of its demo rows. Every page is requested as
# both clients (the "last page" is each client's own last page); a page that answers 404 (route
# not there) is recorded as n/a, any other answer but 200 stops the run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
cd "$ROOT"

INVOICES=${INVOICES:-10000}
ORDERS=${ORDERS:-1000}
TICKETS=${TICKETS:-5000}
REPS=${REPS:-9}
PORT=${PORT:-18182}
BIN=${BEHALF_BIN:-"$ROOT/target/release/behalf"}
SQLITE=/usr/bin/sqlite3
HOST=127.0.0.1
BASE="http://$HOST:$PORT"
PASSWORD=behalf-demo
JANE_EMAIL=jane@example.com
BIG_EMAIL=client0001@example.com
ADMIN_EMAIL=admin@example.com
PER_PAGE=20
PAGE_TARGET_MS=50
MAX_RATIO=2
BUILD=1
RECORD=1

COMMAND_LINE="INVOICES=$INVOICES ORDERS=$ORDERS TICKETS=$TICKETS REPS=$REPS PORT=$PORT${BEHALF_BIN:+ BEHALF_BIN=$BEHALF_BIN} bench/big_client.sh${*:+ $*}"

usage() { sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "big_client.sh: error: $*" >&2; exit 1; }
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
for tool in curl timeout awk sort du; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed"
done
[[ -x "$SQLITE" ]] || die "$SQLITE is required (apt-get install sqlite3)"
for var in INVOICES ORDERS TICKETS REPS; do
    [[ "${!var}" =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer, got '${!var}'"
done
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
WORK=$(mktemp -d "${TMPDIR:-/tmp}/behalf-big-client.XXXXXX")
DB="$WORK/b.db"
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

q() { timeout 60 "$SQLITE" "$DB" "$1"; }

log "creating $DB: migrate, demo"
timeout 60 "$BIN" --database-url "$DB_URL" migrate >/dev/null
timeout 120 "$BIN" --database-url "$DB_URL" demo >/dev/null 2>&1

JANE_ID=$(q "SELECT id FROM clients WHERE email = '$JANE_EMAIL'")
BIG_ID=$(q "SELECT id FROM clients WHERE email = '$BIG_EMAIL'")
[[ -n "$JANE_ID" ]] || die "the demo has no $JANE_EMAIL"
[[ -n "$BIG_ID" ]] || die "the demo has no $BIG_EMAIL"
INV0=$(q "SELECT COALESCE(MAX(id), 0) FROM invoices")
TIC0=$(q "SELECT COALESCE(MAX(id), 0) FROM tickets")
NOW=$(date +%s)

log "bulk-inserting $INVOICES invoices ($((INVOICES * 2)) lines), $ORDERS orders and $TICKETS tickets ($TICKETS replies) for $BIG_EMAIL (client $BIG_ID)"
GEN_START=$(date +%s.%N)
# Invoice i (1..INVOICES) gets id INV0 + i, so the newest (highest id) is issued now; its two
# lines are 1 x a and 2 x b and the total is their sum. 1 in 100 is unpaid, 1 in 37 cancelled.
timeout 600 "$SQLITE" "$DB" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $INVOICES),
r AS (SELECT i, 500 + (i * 7919) % 20000 AS a, 100 + (i * 104729) % 5000 AS b,
             $NOW - ($INVOICES - i) * 3600 AS issued,
             CASE WHEN i % 100 = 0 THEN 'unpaid' WHEN i % 37 = 0 THEN 'cancelled' ELSE 'paid' END AS status
      FROM n)
INSERT INTO invoices (id, client_id, number, status, currency, total_cents, issued_at, due_at)
SELECT $INV0 + i, $BIG_ID, 'BIG-INV-' || i, status, 'USD', a + 2 * b, issued, issued + 86400 * 14
FROM r;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2 * $INVOICES - 1),
r AS (SELECT 1 + i / 2 AS inv, i % 2 AS k FROM n),
l AS (SELECT inv, k, 500 + (inv * 7919) % 20000 AS a, 100 + (inv * 104729) % 5000 AS b FROM r)
INSERT INTO invoice_lines (invoice_id, description, quantity, unit_cents, amount_cents)
SELECT $INV0 + inv,
       CASE k WHEN 0 THEN 'Bench hosting, invoice ' || inv ELSE 'Bench support hours' END,
       CASE k WHEN 0 THEN 1 ELSE 2 END,
       CASE k WHEN 0 THEN a ELSE b END,
       CASE k WHEN 0 THEN a ELSE 2 * b END
FROM l;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ORDERS)
INSERT INTO orders (client_id, number, status, total_cents, created_at)
SELECT $BIG_ID, 'BIG-ORD-' || i, CASE WHEN i % 50 = 0 THEN 'pending' ELSE 'completed' END,
       1200 + (i * 7919) % 9000, $NOW - ($ORDERS - i) * 7200
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TICKETS)
INSERT INTO tickets (id, client_id, subject, status, created_at, updated_at)
SELECT $TIC0 + i, $BIG_ID, 'Bench question ' || i,
       CASE i % 10 WHEN 0 THEN 'open' WHEN 1 THEN 'answered' ELSE 'closed' END,
       $NOW - ($TICKETS - i) * 3600 - 600, $NOW - ($TICKETS - i) * 3600
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TICKETS)
INSERT INTO ticket_replies (ticket_id, author_kind, body, created_at)
SELECT $TIC0 + i, 'client', 'Hello, I need help with bench question ' || i || '.',
       $NOW - ($TICKETS - i) * 3600 - 600
FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
GEN_S=$(awk -v a="$GEN_START" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
DB_MB=$(du -m "$DB" | awk '{print $1}')

declare -A CID N_INV N_LINES N_ORD N_TIC N_REP NEWEST_INV
CID[jane]=$JANE_ID
CID[big]=$BIG_ID
for who in jane big; do
    id=${CID[$who]}
    N_INV[$who]=$(q "SELECT COUNT(*) FROM invoices WHERE client_id = $id")
    N_LINES[$who]=$(q "SELECT COUNT(*) FROM invoice_lines WHERE invoice_id IN (SELECT id FROM invoices WHERE client_id = $id)")
    N_ORD[$who]=$(q "SELECT COUNT(*) FROM orders WHERE client_id = $id")
    N_TIC[$who]=$(q "SELECT COUNT(*) FROM tickets WHERE client_id = $id")
    N_REP[$who]=$(q "SELECT COUNT(*) FROM ticket_replies WHERE ticket_id IN (SELECT id FROM tickets WHERE client_id = $id)")
    NEWEST_INV[$who]=$(q "SELECT MAX(id) FROM invoices WHERE client_id = $id")
    [[ -n "${NEWEST_INV[$who]}" ]] || die "client $id has no invoices"
done
(( N_INV[big] >= INVOICES && N_ORD[big] >= ORDERS && N_TIC[big] >= TICKETS )) || die "bulk insert left too few rows"
log "big client: ${N_INV[big]} invoices, ${N_ORD[big]} orders, ${N_TIC[big]} tickets; jane: ${N_INV[jane]} invoices, ${N_ORD[jane]} orders, ${N_TIC[jane]} tickets (${GEN_S}s to insert; database ${DB_MB} MB)"

# ---- server -------------------------------------------------------------------------------
log "starting server: $BIN --database-url $DB_URL serve --bind $HOST:$PORT"
"$BIN" --database-url "$DB_URL" serve --bind "$HOST:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_up "$BASE" "$SERVER_PID" server

log "signing in $JANE_EMAIL, $BIG_EMAIL and $ADMIN_EMAIL"
declare -A SESSION
SESSION[jane]="behalf_client=$(login client "$JANE_EMAIL" "$PASSWORD")"
SESSION[big]="behalf_client=$(login client "$BIG_EMAIL" "$PASSWORD")"
STAFF_SESSION="behalf_staff=$(login staff "$ADMIN_EMAIL" "$PASSWORD")"

# ---- pages --------------------------------------------------------------------------------
last_page() { echo $(( $1 > 0 ? ($1 + PER_PAGE - 1) / PER_PAGE : 1 )); }
PAGES=(dashboard inv1 inv2 invlast invoice ord1 ordlast tic1 ticlast admin)
declare -A LABEL=(
    [dashboard]="dashboard"
    [inv1]="invoices, page 1"
    [inv2]="invoices, page 2"
    [invlast]="invoices, last page"
    [invoice]="newest invoice"
    [ord1]="orders, page 1"
    [ordlast]="orders, last page"
    [tic1]="tickets, page 1"
    [ticlast]="tickets, last page"
    [admin]="admin client record"
)
# path_of PAGE WHO
path_of() {
    case "$1" in
        dashboard) echo "/dashboard" ;;
        inv1) echo "/invoices" ;;
        inv2) echo "/invoices?page=2" ;;
        invlast) echo "/invoices?page=$(last_page "${N_INV[$2]}")" ;;
        invoice) echo "/invoices/${NEWEST_INV[$2]}" ;;
        ord1) echo "/orders" ;;
        ordlast) echo "/orders?page=$(last_page "${N_ORD[$2]}")" ;;
        tic1) echo "/tickets" ;;
        ticlast) echo "/tickets?page=$(last_page "${N_TIC[$2]}")" ;;
        admin) echo "/admin/clients/${CID[$2]}" ;;
    esac
}

declare -A PATH_OF MEDIAN MAX SHOWN
for page in "${PAGES[@]}"; do
    for who in jane big; do
        key="$page|$who"
        path=$(path_of "$page" "$who")
        PATH_OF[$key]=$path
        if [[ "$page" == admin ]]; then cookie=$STAFF_SESSION; else cookie=${SESSION[$who]}; fi
        log "GET $path as $who: 1 warm-up + $REPS timed"
        times=()
        for r in $(seq 0 "$REPS"); do
            out=$(curl -sS -o "$WORK/body.html" -w '%{http_code} %{time_total}' --max-time 30 \
                -H "Cookie: $cookie" "$BASE$path") || die "GET $path ($who) failed"
            read -r code secs <<<"$out"
            if [[ "$code" == 404 ]]; then break; fi
            [[ "$code" == 200 ]] || die "GET $path ($who) answered $code"
            ms=$(awk -v s="$secs" 'BEGIN{printf "%.1f", s * 1000}')
            (( r == 0 )) || times+=("$ms")
        done
        if [[ "$code" == 404 ]]; then
            log "GET $path ($who) answered 404: recorded as n/a"
            MEDIAN[$key]="n/a"; MAX[$key]="n/a"; SHOWN[$key]="404"
            continue
        fi
        # What the page shows, so a fast empty page cannot pass unnoticed.
        rows=$({ grep -o '<tr' "$WORK/body.html" || true; } | wc -l)
        pager=$({ grep -o 'Page [0-9]* of [0-9]*' "$WORK/body.html" || true; } | head -n1)
        SHOWN[$key]="$(( rows > 0 ? rows - 1 : 0 )) rows${pager:+; $pager}"
        sorted=$(printf '%s\n' "${times[@]}" | sort -n)
        MEDIAN[$key]=$(awk '{a[NR]=$1} END{ if (NR % 2) print a[(NR+1)/2]; else printf "%.1f", (a[NR/2]+a[NR/2+1])/2 }' <<<"$sorted")
        MAX[$key]=$(tail -n1 <<<"$sorted")
    done
done
SERVER_HWM_KB=$(awk '/^VmHWM:/{print $2}' "/proc/$SERVER_PID/status")

# ---- report -------------------------------------------------------------------------------
ratio() {
    [[ "$1" == n/a || "$2" == n/a ]] && { echo n/a; return; }
    awk -v j="$1" -v b="$2" 'BEGIN{ if (j > 0) printf "%.2f", b / j; else print "n/a" }'
}
verdict() {
    [[ "$1" == n/a || "$2" == n/a ]] && { echo n/a; return; }
    awk -v j="$1" -v b="$2" -v t="$PAGE_TARGET_MS" -v x="$MAX_RATIO" \
        'BEGIN{print (b < t || b <= x * j) ? "met" : "**not met**"}'
}
report() {
    echo "## Big client: $INVOICES invoices, $ORDERS orders, $TICKETS tickets"
    echo
    echo "Claim checked: a client with 10,000 invoices and 1,000 orders gets pages as fast as one with 20, because every list pages."
    echo
    echo "- command: \`$COMMAND_LINE\`"
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes in src/)')"
    echo "- binary: $BIN (built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ))"
    echo "- machine: $(nproc) cores, $(uname -sr); server, curl and SQLite on the same machine, loopback $BASE"
    echo "- data: demo database; $BIG_EMAIL (client $BIG_ID) got $INVOICES invoices with 2 lines each, $ORDERS orders and $TICKETS tickets with 1 reply each on top of its demo rows (inserted in ${GEN_S}s; database ${DB_MB} MB); no ANALYZE (the app never runs it)"
    echo "- rows: $JANE_EMAIL (client $JANE_ID) ${N_INV[jane]} invoices / ${N_LINES[jane]} lines, ${N_ORD[jane]} orders, ${N_TIC[jane]} tickets / ${N_REP[jane]} replies; $BIG_EMAIL ${N_INV[big]} invoices / ${N_LINES[big]} lines, ${N_ORD[big]} orders, ${N_TIC[big]} tickets / ${N_REP[big]} replies"
    echo "- requests: each page as each client (admin pages as $ADMIN_EMAIL), one warm-up request then $REPS timed with \`curl -w %{time_total}\`, a new connection each; $PER_PAGE rows a page; the last page is each client's own; target: big client's median within ${MAX_RATIO}x of Jane's or under $PAGE_TARGET_MS ms"
    echo
    echo "| page | Jane median ms | big client median ms | ratio | Jane max ms | big client max ms | Jane request (shown) | big client request (shown) | target |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
    for page in "${PAGES[@]}"; do
        j="$page|jane"; b="$page|big"
        echo "| ${LABEL[$page]} | ${MEDIAN[$j]} | ${MEDIAN[$b]} | $(ratio "${MEDIAN[$j]}" "${MEDIAN[$b]}") | ${MAX[$j]} | ${MAX[$b]} | \`${PATH_OF[$j]}\` (${SHOWN[$j]}) | \`${PATH_OF[$b]}\` (${SHOWN[$b]}) | $(verdict "${MEDIAN[$j]}" "${MEDIAN[$b]}") |"
    done
    echo
    echo "Server peak RSS (VmHWM) after the page requests: $(awk -v k="$SERVER_HWM_KB" 'BEGIN{printf "%.1f", k/1024}') MB."
}
REPORT=$(report)
echo
echo "$REPORT"
if (( RECORD )); then
    { echo; echo "$REPORT"; } >>"$ROOT/bench/RESULTS.md"
    log "appended to bench/RESULTS.md"
fi
