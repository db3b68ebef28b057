//! Running for real: trusted proxies, metrics, slow and greedy clients, and the defects a
//! security probe found (each tried as the attacker did, over HTTP or a raw socket).

use crate::support::*;
use behalf::config::TrustedProxies;
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Sends raw bytes and reads until the server closes or `wait` passes; returns what came back
/// and how long it took.
async fn raw(app: &TestApp, bytes: &[u8], wait: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
}

/// A sign-in from `forwarded_for` through the test's "proxy" (this process, on 127.0.0.1).
async fn login_via(b: &mut Browser, email: &str, password: &str, forwarded_for: &str) -> StatusCode {
    let page = b.get("/login").await;
    let csrf = page.csrf().unwrap();
    b.http
        .post(format!("{}/login", b.base))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("email", email), ("password", password), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    // Untrusted (the default): a spoofed header changes nothing that is recorded or limited.
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    for _ in 0..5 {
        assert_eq!(
            login_via(&mut b, "jane@example.com", "wrong-password", "203.0.113.1").await,
            StatusCode::UNAUTHORIZED
        );
    }
    let failures = app.login_failures().await;
    assert_eq!(failures.iter().filter(|f| f.ip == "127.0.0.1").count(), 5);
    assert_eq!(failures.iter().filter(|f| f.ip != "127.0.0.1").count(), 0);
    // Changing the spoofed address does not escape the limit.
    assert_eq!(
        login_via(&mut b, "jane@example.com", "behalf-demo", "203.0.113.2").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Trusted: the rightmost hop that is not a trusted proxy is the client, everywhere.
    let app =
        TestApp::with_config(|c| c.trusted_proxies = TrustedProxies::parse("127.0.0.1/32, 10.0.0.0/8").unwrap()).await;
    let mut b = app.browser();
    for _ in 0..5 {
        let status = login_via(&mut b, "jane@example.com", "wrong-password", "6.6.6.6, 198.51.100.7, 10.0.0.2").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.login_failures().await.iter().filter(|f| f.ip == "198.51.100.7").count(), 5);
    // The limit holds that address, not the proxy: another client behind it signs in.
    assert_eq!(
        login_via(&mut b, "jane@example.com", "behalf-demo", "198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut other = app.browser();
    assert_eq!(login_via(&mut other, "jane@example.com", "behalf-demo", "198.51.100.8").await, StatusCode::SEE_OTHER);
    // The Login as Client record and its activity entry carry the forwarded address.
    let mut admin = app.browser();
    let page = admin.get("/admin/login").await;
    let csrf = page.csrf().unwrap();
    let r = admin
        .http
        .post(format!("{}/admin/login", admin.base))
        .header("x-forwarded-for", "2001:db8::7")
        .header("x-forwarded-proto", "https")
        // The proxies write X-Forwarded-For, so a Forwarded header is the client's own and ignored.
        .header("forwarded", "for=6.6.6.6;proto=http")
        .form(&[("email", "admin@example.com"), ("password", "behalf-demo"), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // https from the trusted proxy marks the cookie Secure.
    assert_eq!(app.newest_activity("Staff signed in").await.map(|r| r.ip).as_deref(), Some("2001:db8::7"));
    let cookie = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(cookie.iter().any(|c| c.starts_with("behalf_staff=") && c.contains("; Secure")), "{cookie:?}");
    let token = cookie.iter().find(|c| c.starts_with("behalf_staff=")).unwrap();
    let token = token.trim_start_matches("behalf_staff=").split(';').next().unwrap().to_string();
    admin.put_cookie("behalf_staff", &token);
    let record = admin.get(&format!("/admin/clients/{JANE}")).await;
    let csrf = record.csrf().unwrap();
    let r = admin
        .http
        .post(format!("{}/admin/clients/{JANE}/impersonate", admin.base))
        .header("x-forwarded-for", "192.0.2.44")
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.latest_impersonation().await.ip, "192.0.2.44");
    assert_eq!(app.newest_activity("Staff impersonated client").await.map(|r| r.ip).as_deref(), Some("192.0.2.44"));
    // A malformed header falls back to the peer and never answers 500.
    for bad in ["garbage", "1.2.3.4.5", "[::1", "unknown", ""] {
        let r = admin.http.get(format!("{}/admin", admin.base)).header("x-forwarded-for", bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{bad:?}");
        let r = admin.http.get(format!("{}/admin", admin.base)).header("forwarded", bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{bad:?}");
    }
    let before = app.count(Table::LoginFailures).await;
    let mut b = app.browser();
    assert_eq!(
        login_via(&mut b, "bob@example.com", "wrong-password", "not-an-address").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.count(Table::LoginFailures).await, before + 1);
    assert_eq!(app.login_failures().await.pop().map(|f| f.ip).as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn the_origin_check_uses_the_forwarded_scheme_and_needs_a_host() {
    let app = TestApp::with_config(|c| c.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap()).await;
    let mut b = app.browser();
    let page = b.get("/login").await;
    let csrf = page.csrf().unwrap();
    let host = addr(&app);
    let post = |origin: String, proto: &'static str| {
        b.http
            .post(format!("{}/login", b.base))
            .header("origin", origin)
            .header("x-forwarded-proto", proto)
            .form(&[("email", "jane@example.com"), ("password", "behalf-demo"), ("csrf_token", csrf.as_str())])
            .send()
    };
    // The browser used HTTPS, so an http:// Origin for the same host is another site.
    assert_eq!(post(format!("http://{host}"), "https").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post(format!("https://{host}"), "https").await.unwrap().status(), StatusCode::SEE_OTHER);
    // No Host header at all: an Origin cannot be checked, so the request is refused.
    let body = format!("email=jane%40example.com&password=behalf-demo&csrf_token={csrf}");
    let request = format!(
        "POST /login HTTP/1.1\r\nOrigin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nCookie: behalf_csrf={csrf}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (answer, _) = raw(&app, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 403") || answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(!answer.contains("behalf_client="), "no session was made: {answer}");
}

#[tokio::test]
async fn metrics_count_routes_sessions_and_refusals_and_stay_off_the_public_port() {
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = TestApp::with_config(|c| c.metrics_bind = Some(format!("127.0.0.1:{metrics_port}"))).await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[]).await;
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::OK);
    let mut manager = app.staff("manager@example.com").await;
    let refused = manager.impersonate(JANE, &[("mode", "full")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    admin.get("/tickets/999999").await;
    // The public port does not show them once a metrics address is set.
    assert_eq!(admin.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let mut text = String::new();
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics")).await {
            text = r.text().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The recorder is shared by every server in this test process, so counts are at least ours.
    for needle in [
        "behalf_http_requests_total{route=\"/dashboard\",status=\"2xx\"}",
        "behalf_http_requests_total{route=\"/tickets/{id}\",status=\"4xx\"}",
        "behalf_http_request_duration_seconds_bucket{route=\"/dashboard\",le=\"0.005\"}",
        "behalf_impersonation_starts_total",
        "behalf_impersonation_refusals_total{reason=\"full_mode_not_allowed\"}",
        "behalf_impersonations_live",
        "behalf_outbox_backlog",
        "behalf_activity_log_entries",
        "behalf_db_pool_connections{pool=",
        "behalf_db_pool_idle_connections{pool=",
        "behalf_db_pool_acquire_wait_seconds{pool=",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let gauge = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .and_then(|l| l.split(' ').nth(1))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(gauge("behalf_impersonations_live") >= 1.0);
    assert!(gauge("behalf_activity_log_entries") >= 1.0);
    // Ends are counted by reason.
    admin.return_to_admin().await;
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("behalf_impersonation_ends_total{reason=\"returned\"}"), "{text}");

    // Without a metrics address, the main port answers loopback callers only, and never
    // through a proxy.
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    assert_eq!(b.get("/metrics").await.status, StatusCode::OK);
    let r = b.http.get(format!("{}/metrics", b.base)).header("x-forwarded-for", "203.0.113.9").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn full_mode_ends_with_the_write_permission() {
    let app = TestApp::spawn().await;
    app.set_consent(JANE, "allowed").await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full")]).await;
    let ticket = app.first_ticket_of(JANE).await;
    let replies = app.count(Table::TicketReplies).await;
    let ok = admin.portal_post(&format!("/tickets/{ticket}/replies"), &[("body", "Written in full mode")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    // The role loses clients.impersonate.write (as `behalf staff set-role EMAIL manager` does).
    let role = app.staff_members().await.into_iter().find(|s| s.email == "admin@example.com").expect("Alice").role;
    app.revoke_permission(&role, "clients.impersonate.write").await;
    let refused = admin.portal_post(&format!("/tickets/{ticket}/replies"), &[("body", "Must not be stored")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count(Table::TicketReplies).await, replies + 1);
    // The banner says what is true now.
    assert!(admin.get("/dashboard").await.text_of("impersonation-banner").unwrap().contains("read-only"));
}

#[tokio::test]
async fn the_admin_ticket_page_needs_tickets_manage() {
    let app = TestApp::spawn().await;
    let ticket = app.first_ticket_of(JANE).await;
    let mut billing = app.staff("billing@example.com").await;
    assert_eq!(billing.get(&format!("/admin/tickets/{ticket}")).await.status, StatusCode::FORBIDDEN);
    let mut support = app.staff("support@example.com").await;
    assert_eq!(support.get(&format!("/admin/tickets/{ticket}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn lowered_time_limits_shorten_live_sessions() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[]).await;
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::OK);
    app.age_impersonation(app.latest_impersonation().await.id, 120).await;
    app.set("impersonation.max_duration", "1m").await;
    let ended = admin.get("/dashboard").await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(app.last_end_reason().await.as_deref(), Some("expired"));

    app.set("impersonation.max_duration", "60m").await;
    admin.impersonate(JANE, &[]).await;
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::OK);
    app.idle_impersonation(app.live_impersonation().await.expect("a live Login as Client").id, 90).await;
    app.set("impersonation.idle_timeout", "1m").await;
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.last_end_reason().await.as_deref(), Some("idle"));
}

#[tokio::test]
async fn next_accepts_only_a_plain_path_on_this_site() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    for next in
        ["/\t/evil.example", "/\u{b}/x", "/ /evil.example", "//evil.example", "https://evil.example", "/\\evil.example"]
    {
        let r = admin.impersonate(JANE, &[("next", next)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.location(), Some("/dashboard"), "{next:?}");
    }
    let r = admin.impersonate(JANE, &[("next", "/tickets?status=open")]).await;
    assert_eq!(r.location(), Some("/tickets?status=open"));
}

#[tokio::test]
async fn the_sign_in_form_accepts_only_csrf_tokens_the_server_issued() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    b.put_cookie("behalf_csrf", "x");
    let page = b.get("/login").await;
    let issued = page.csrf().unwrap();
    assert_ne!(issued, "x");
    assert_eq!(issued.len(), 64);
    assert!(page.set_cookie("behalf_csrf").is_some(), "a planted value is replaced");
    let mut planted = app.browser();
    planted.put_cookie("behalf_csrf", "x");
    let r = planted
        .post_raw("/login", &[("email", "jane@example.com"), ("password", "behalf-demo"), ("csrf_token", "x")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.set_cookie("behalf_client").is_none());
}

#[tokio::test]
async fn nul_in_a_search_path_or_form_is_a_clear_4xx() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.get("/admin/clients?q=%00").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/admin/clients?q=a%00b").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/admin/activity?group=%00").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/tickets/%00").await.status, StatusCode::BAD_REQUEST);
    let mut jane = app.client("jane@example.com").await;
    let r = jane.portal_post("/tickets", &[("subject", "a\0b"), ("body", "text")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = jane.portal_post("/account", &[("name", "Jane\0"), ("phone", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.client_row(JANE).await.name, "Jane Smith");
}

#[tokio::test]
async fn slow_headers_and_bodies_are_cut_off() {
    let app = TestApp::with_config(|c| {
        c.limits.header_timeout = Duration::from_secs(1);
        c.limits.body_timeout = Duration::from_secs(1);
        c.limits.request_timeout = Duration::from_secs(3);
    })
    .await;
    // A socket that sends nothing at all: closed after the header timeout.
    let (_, took) = raw(&app, b"", Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(5), "a silent socket was held for {took:?}");
    // Just the start of an HTTP/2 preface: the same.
    let (_, took) = raw(&app, b"PRI", Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    // A kept-alive connection that goes silent after a request: closed after the header timeout.
    let started = Instant::now();
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < Duration::from_secs(5), "an idle kept-alive connection was held");
    // Half a header line, then nothing: closed after the header timeout.
    let (_, took) = raw(&app, b"GET /login HTTP/1.1\r\nHost: x\r\nUser-Ag", Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    // A POST that promises 100 bytes and sends 10: answered and closed after the body timeout.
    let (answer, took) = raw(
        &app,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=jane",
        Duration::from_secs(10),
    )
    .await;
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    assert!(!answer.starts_with("HTTP/1.1 5"), "{answer}");
    // A body trickled a byte at a time, each within the body timeout, still ends at the request
    // deadline.
    let started = Instant::now();
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    for _ in 0..20 {
        if s.write_all(b"a").await.is_err() {
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            answer.extend_from_slice(&buf[..n]);
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(6), "held for {:?}", started.elapsed());
    // The server still serves.
    assert_eq!(app.browser().get("/login").await.status, StatusCode::OK);
}

#[tokio::test]
async fn connections_over_the_cap_get_a_quick_503_and_service_resumes() {
    let app = TestApp::with_config(|c| {
        c.limits.max_connections = 20;
        c.limits.header_timeout = Duration::from_secs(3);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"GET /login HTTP/1.1\r\n").await.unwrap();
        idle.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let (answer, _) = raw(&app, b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n", Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(idle);
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app.browser().get("/login").await.status == StatusCode::OK {
            ok = true;
            break;
        }
    }
    assert!(ok, "service resumes once the slow connections are gone");
}

#[tokio::test]
async fn out_of_file_descriptors_answers_503_not_500_with_a_quiet_log() {
    // A real process with 64 file descriptors, hit by more connections than it can hold.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fd.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("server.log");
    let script = format!(
        "ulimit -n 64 && exec '{}' --database-url '{db}' serve --demo --bind 127.0.0.1:{port} 2> '{}'",
        env!("CARGO_BIN_EXE_behalf"),
        log.display()
    );
    let mut child = std::process::Command::new("sh").arg("-c").arg(&script).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut up = false;
    for _ in 0..300 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server started");
    // Hold many sockets open so the process runs out of descriptors, then ask for pages.
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(s) = TcpStream::connect(format!("127.0.0.1:{port}")).await {
            held.push(s);
        }
    }
    let mut statuses = Vec::new();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let http = http.clone();
            let url = format!("{base}/login");
            tokio::spawn(async move { http.get(url).timeout(Duration::from_secs(5)).send().await.map(|r| r.status()) })
        })
        .collect();
    for t in tasks {
        if let Ok(Ok(s)) = t.await {
            statuses.push(s);
        }
    }
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
    assert!(statuses.contains(&StatusCode::SERVICE_UNAVAILABLE), "the overflow is shed with 503: {statuses:?}");
    assert!(statuses.iter().all(|s| *s != StatusCode::INTERNAL_SERVER_ERROR), "{statuses:?}");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log.contains("stack backtrace"), "no backtraces in the log");
    assert!(log.lines().count() < 400, "the log stays short: {} lines", log.lines().count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn a_hanging_postgresql_gives_bounded_503s_and_no_starvation() {
    let app = TestApp::on_postgres_with(|c| {
        c.limits.statement_timeout = Duration::from_secs(1);
        c.limits.connect_timeout = Duration::from_secs(2);
    })
    .await;
    let jane = app.client("jane@example.com").await;
    assert_eq!(jane.http.get(format!("{}/dashboard", jane.base)).send().await.unwrap().status(), StatusCode::OK);
    // Another connection holds the sessions table: every request that reads it hangs in PostgreSQL.
    let mut holder = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE").execute(&mut holder).await.unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let http = jane.http.clone();
            let url = format!("{}/dashboard", jane.base);
            tokio::spawn(async move { http.get(url).send().await.map(|r| r.status()) })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().unwrap());
    }
    let took = started.elapsed();
    assert!(statuses.iter().all(|s| *s == StatusCode::SERVICE_UNAVAILABLE), "{statuses:?}");
    assert!(took < Duration::from_secs(15), "answered in bounded time, took {took:?}");
    // Released: the pool is whole again and every request is served.
    sqlx::raw_sql("ROLLBACK").execute(&mut holder).await.unwrap();
    for _ in 0..30 {
        let s = jane.http.get(format!("{}/dashboard", jane.base)).send().await.unwrap().status();
        assert_eq!(s, StatusCode::OK);
    }
}
