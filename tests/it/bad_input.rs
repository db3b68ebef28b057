//! Bad input gets a clear 4xx and changes nothing.

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn malformed_and_unknown_ids() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    for (path, code) in [
        ("/admin/clients/abc", StatusCode::BAD_REQUEST),
        ("/admin/clients/-1", StatusCode::BAD_REQUEST),
        ("/admin/clients/99999999999999999999999", StatusCode::BAD_REQUEST),
        ("/admin/clients/999999", StatusCode::NOT_FOUND),
        ("/admin/tickets/999999", StatusCode::NOT_FOUND),
        ("/admin/orders/0", StatusCode::BAD_REQUEST),
        ("/admin/invoices/999999", StatusCode::NOT_FOUND),
        ("/admin/clients?page=abc", StatusCode::BAD_REQUEST),
        ("/admin/activity?actor=robot", StatusCode::BAD_REQUEST),
        ("/admin/impersonations?state=maybe", StatusCode::BAD_REQUEST),
        ("/no/such/page", StatusCode::NOT_FOUND),
    ] {
        let p = admin.get(path).await;
        assert_eq!(p.status, code, "{path}");
        assert!(p.body.contains("class=\"message\""), "{path} explains itself");
    }
    let mut jane = app.client("jane@example.com").await;
    for (path, code) in [
        ("/tickets/xyz", StatusCode::BAD_REQUEST),
        ("/invoices/999999", StatusCode::NOT_FOUND),
        ("/invoices?page=-3", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(jane.get(path).await.status, code, "{path}");
    }
}

#[tokio::test]
async fn bad_forms_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let replies = app.count(Table::TicketReplies).await;
    let token = jane.get("/dashboard").await.csrf().unwrap();
    // Oversized body: 413.
    let big = "x".repeat(2 * 1024 * 1024);
    let p = jane.post_raw("/tickets/1/replies", &[("csrf_token", token.as_str()), ("body", big.as_str())]).await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Empty and overlong fields: 422 with the text kept.
    let p = jane.portal_post("/tickets/1/replies", &[("body", "   ")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let long = "y".repeat(30_000);
    let p = jane.portal_post("/tickets/1/replies", &[("body", long.as_str())]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains(&long), "what the user typed is kept");
    let p = jane.portal_post("/tickets", &[("subject", ""), ("body", "hello")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = jane.portal_post("/account", &[("name", ""), ("phone", "123")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = jane.portal_post("/account/consent", &[("consent", "maybe"), ("for", "1y")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Not a form at all.
    let p = jane
        .http
        .post(format!("{}/tickets/1/replies", app.base))
        .body("{}")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(p.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Another client's ticket.
    let bob_ticket = app.first_ticket_of(BOB).await;
    let p = jane.portal_post(&format!("/tickets/{bob_ticket}/replies"), &[("body", "sneaky")]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count(Table::TicketReplies).await, replies);
    assert_eq!(app.client_row(JANE).await.name, "Jane Smith");
}

#[tokio::test]
async fn repeated_submits_do_not_fail() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let token = jane.get("/tickets/1").await.csrf().unwrap();
    for _ in 0..3 {
        let p = jane.post_raw("/tickets/1/replies", &[("csrf_token", token.as_str()), ("body", "same again")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
    }
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[]).await;
    let token = admin.get(&format!("/admin/clients/{JANE}")).await.csrf().unwrap();
    for _ in 0..3 {
        let p = admin.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &[("csrf_token", token.as_str())]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(app.live_impersonations().await.len(), 1);
}

#[tokio::test]
async fn the_client_can_change_sensitive_settings_on_their_own() {
    let app = TestApp::spawn().await;
    let mut bob = app.client("bob@example.com").await;
    let p = bob.portal_post("/account/consent", &[("consent", "allow"), ("for", "24h")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(app.client_row(BOB).await.consent, "allowed");
    let p =
        bob.portal_post("/account/password", &[("current_password", "wrong"), ("new_password", "long-enough-1")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = bob
        .portal_post("/account/password", &[("current_password", "behalf-demo"), ("new_password", "long-enough-1")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = bob.portal_post("/account/email", &[("email", "jane@example.com")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "an e-mail in use is refused");
    let p = bob.portal_post("/account/email", &[("email", "bob.jones@example.com")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let mut again = app.browser();
    let p =
        again.post_from("/login", "/login", &[("email", "bob.jones@example.com"), ("password", "long-enough-1")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = bob.portal_post("/account/delete", &[]).await;
    assert_eq!(p.location(), Some("/login"));
    assert_eq!(again.get("/dashboard").await.location(), Some("/login"), "every session of a closed account ends");
}
