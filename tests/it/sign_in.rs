//! Sign-in: same error for unknown and wrong, the failed-attempt limit, session rotation, headers.

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let unknown = b
        .post_from("/admin/login", "/admin/login", &[("email", "nobody@example.com"), ("password", "behalf-demo")])
        .await;
    let wrong = b
        .post_from("/admin/login", "/admin/login", &[("email", "admin@example.com"), ("password", "wrong-password")])
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(
        unknown.text_of("main").map(|t| t.replace("nobody@example.com", "")),
        wrong.text_of("main").map(|t| t.replace("admin@example.com", ""))
    );
    assert!(b.cookie("behalf_staff").is_none());
}

#[tokio::test]
async fn five_failures_lock_that_account_from_that_address_only() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    for _ in 0..5 {
        let p = b.post_from("/login", "/login", &[("email", "jane@example.com"), ("password", "not-it")]).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    let locked = b.post_from("/login", "/login", &[("email", "jane@example.com"), ("password", "behalf-demo")]).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains("Too many failed sign-ins"));
    assert!(b.cookie("behalf_client").is_none());
    // Another account from the same address is not affected, nor is the staff side.
    b.login_client("bob@example.com").await;
    app.browser().login_staff("admin@example.com").await;
    // When the window has passed, Jane may sign in again.
    app.age_login_failures(901).await;
    app.browser().login_client("jane@example.com").await;
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_needs_the_form_token() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let p = b
        .post_raw("/login", &[("email", "jane@example.com"), ("password", "behalf-demo"), ("csrf_token", "guess")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    b.login_client("jane@example.com").await;
    let first = b.cookie("behalf_client").unwrap();
    b.login_client("jane@example.com").await;
    let second = b.cookie("behalf_client").unwrap();
    assert_ne!(first, second);
    let mut old = app.browser();
    old.put_cookie("behalf_client", &first);
    assert_eq!(old.get("/dashboard").await.location(), Some("/login"));
    // Disabled clients cannot sign in, and the right password gets the very answer a wrong one
    // gets, so a guess is never confirmed.
    let mut ivan = app.browser();
    let right = ivan.post_from("/login", "/login", &[("email", "ivan@example.com"), ("password", "behalf-demo")]).await;
    let wrong = ivan.post_from("/login", "/login", &[("email", "ivan@example.com"), ("password", "wrong-guess")]).await;
    assert_eq!(right.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, right.status);
    assert_eq!(right.body, wrong.body);
    assert!(right.body.contains("The e-mail address or password is not right."));
    assert!(right.set_cookie("behalf_client").is_none());
    // Signing in records the time shown on the admin record.
    let mut admin = app.staff("admin@example.com").await;
    assert_ne!(admin.get("/admin/clients/1").await.text_of("last-login").unwrap(), "never");
}

#[tokio::test]
async fn security_headers_and_cookie_flags() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let p = b
        .post_from("/admin/login", "/admin/login", &[("email", "admin@example.com"), ("password", "behalf-demo")])
        .await;
    let c = p.set_cookie("behalf_staff").unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
    let page = b.get("/admin").await;
    let h = &page.headers;
    assert!(h["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store, private");
    assert!(!page.body.contains("<script"), "no inline scripts");
    let m = b.get("/metrics").await;
    assert!(m.body.contains("behalf_http_requests_total"));
    assert_eq!(b.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_page_names_its_language() {
    let app = TestApp::spawn().await;
    let mut visitor = app.browser();
    let mut admin = app.staff("admin@example.com").await;
    let mut jane = app.client("jane@example.com").await;
    let pages = [
        visitor.get("/admin/login").await,
        visitor.get("/login").await,
        visitor.get("/no-such-page").await,
        admin.get("/admin").await,
        jane.get("/dashboard").await,
    ];
    for p in pages {
        assert!(p.body.starts_with("<!DOCTYPE html><html lang=\"en\"><head>"), "{}", &p.body[..p.body.len().min(80)]);
    }
}
