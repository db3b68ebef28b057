# shellcheck shell=bash
# Shared helpers of the bench scripts (sourced; not run on its own). Every call is bounded in time.
# The caller defines die() and log() and, for the sign-in helpers, BASE (the server's loopback URL)
# and WORK (a temporary directory for cookie jars).

# stop_pid PID: stops a process (TERM, then KILL after 5 s) and reaps it; nothing if it is gone.
stop_pid() {
    local pid=$1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# wait_up BASE PID WHAT: waits at most 60 s for BASE/healthz to answer 200; dies if PID exits first.
wait_up() {
    local i
    for i in $(seq 600); do
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/healthz" || true)" == 200 ]]; then
            log "$3 up (pid $2) after ~$(( i / 10 )).$(( i % 10 ))s"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || die "$3 exited during start-up"
        sleep 0.1
    done
    die "$3 did not answer /healthz within 60s"
}

# The first csrf_token value in an HTML page read on standard input.
csrf_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//'; }
# jar_cookie JAR NAME: a cookie's value from a curl cookie jar.
jar_cookie() { awk -v n="$2" '$6 == n {v=$7} END{print v}' "$1"; }
# http_code CURL-ARGS...: the status of one request.
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
# mb KB: kilobytes as megabytes with one decimal.
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

# login SIDE EMAIL PASSWORD -> prints the session cookie (side: staff | client)
login() {
    local side=$1 email=$2 pass=$3 path name jar csrf code
    if [[ $side == staff ]]; then path=/admin/login name=behalf_staff; else path=/login name=behalf_client; fi
    jar=$(mktemp "$WORK/jar.XXXXXX")
    csrf=$(curl -sS --max-time 10 -c "$jar" -b "$jar" "$BASE$path" | csrf_of)
    [[ -n "$csrf" ]] || die "no csrf_token on $path"
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -c "$jar" -b "$jar" \
        --data-urlencode "csrf_token=$csrf" --data-urlencode "email=$email" --data-urlencode "password=$pass" \
        "$BASE$path")
    [[ "$code" == 303 ]] || die "login of $email on $path answered $code (expected 303)"
    local token; token=$(jar_cookie "$jar" "$name")
    [[ -n "$token" ]] || die "login of $email set no $name cookie"
    echo "$token"
}

# staff_csrf STAFF_COOKIE -> the staff session's CSRF token
staff_csrf() {
    local c
    c=$(curl -sS --max-time 10 -H "Cookie: behalf_staff=$1" "$BASE/admin/clients/1" | csrf_of)
    [[ -n "$c" ]] || die "no staff csrf_token on /admin/clients/1"
    echo "$c"
}

# impersonate STAFF_COOKIE STAFF_CSRF -> prints "CLIENT_COOKIE PORTAL_CSRF" of a new full-mode session as jane
impersonate() {
    local hdr token pcsrf
    hdr=$(curl -sS -o /dev/null -D - --max-time 10 -H "Cookie: behalf_staff=$1" \
        --data-urlencode "csrf_token=$2" --data-urlencode "mode=full" "$BASE/admin/clients/1/impersonate")
    grep -q '^HTTP/[0-9.]* 303' <<<"$hdr" || die "impersonation start did not answer 303: $(head -n1 <<<"$hdr")"
    token=$(grep -i '^set-cookie: behalf_client=' <<<"$hdr" | head -n1 | sed 's/^[^=]*=//; s/;.*//; s/\r//')
    [[ -n "$token" ]] || die "impersonation start set no behalf_client cookie"
    pcsrf=$(curl -sS --max-time 10 -H "Cookie: behalf_client=$token" "$BASE/dashboard" | csrf_of)
    [[ -n "$pcsrf" ]] || die "no portal csrf_token on /dashboard while impersonating"
    echo "$token $pcsrf"
}
