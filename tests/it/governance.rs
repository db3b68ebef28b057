//! Governance: consent, required reasons, settings, the Login as Client log, roles and staff.

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn opt_in_consent_blocks_until_the_client_allows_and_grants_expire() {
    let app = TestApp::spawn().await;
    app.set("impersonation.consent", "opt_in").await;
    let mut admin = app.staff("admin@example.com").await;
    // Bob has not allowed: the button is disabled with the reason, and a direct POST is refused.
    let record = admin.get(&format!("/admin/clients/{BOB}")).await;
    assert!(record.text_of("login-as-client-blocked").unwrap().contains("has not allowed"));
    assert!(record.body.contains("id=\"login-as-client\" type=\"submit\" disabled"));
    let before = (app.impersonation_count().await, app.scalar("SELECT COUNT(*) FROM sessions").await);
    let p = admin.impersonate(BOB, &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("has not allowed support staff"));
    assert_eq!(before, (app.impersonation_count().await, app.scalar("SELECT COUNT(*) FROM sessions").await));

    // Bob ticks the box for 24 hours on his own account page.
    let mut bob = app.client("bob@example.com").await;
    let account = bob.get("/account").await;
    assert!(account.has("allow-support"));
    assert!(account.body.contains("Allow support staff to access my account"));
    let p = bob.portal_post("/account/consent", &[("from_checkbox", "1"), ("consent", "allow"), ("for", "24h")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(bob.get("/account").await.text_of("consent-state").unwrap().starts_with("yes, until"));
    assert_eq!(admin.impersonate(BOB, &[]).await.status, StatusCode::SEE_OTHER);
    admin.return_to_admin().await;

    // The grant expires on time.
    app.exec(&format!("UPDATE clients SET consent_until = 1 WHERE id = {BOB}")).await;
    assert_eq!(admin.impersonate(BOB, &[]).await.status, StatusCode::FORBIDDEN);

    // Unticking refuses; under opt_out only a refusal keeps staff out.
    bob.portal_post("/account/consent", &[("from_checkbox", "1"), ("for", "always")]).await;
    assert_eq!(app.text(&format!("SELECT consent FROM clients WHERE id = {BOB}")).await.as_deref(), Some("refused"));
    app.set("impersonation.consent", "opt_out").await;
    assert_eq!(admin.impersonate(BOB, &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.impersonate(JANE, &[]).await.status, StatusCode::SEE_OTHER, "Jane allowed");
    let unset = app.scalar("SELECT MAX(id) FROM clients WHERE consent = 'unset' AND active = 1").await;
    assert_eq!(admin.impersonate(unset, &[]).await.status, StatusCode::SEE_OTHER, "opt_out lets unset in");
    assert_eq!(admin.impersonate(RITA, &[]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn consent_is_changed_from_the_admin_side_only_with_the_permission() {
    let app = TestApp::spawn().await;
    // A manager lacks clients.consent.manage: no form, and a forged POST changes nothing.
    let mut max = app.staff("manager@example.com").await;
    assert!(!max.get(&format!("/admin/clients/{BOB}")).await.has("admin-consent-form"));
    let p = max
        .post_from(
            &format!("/admin/clients/{BOB}"),
            &format!("/admin/clients/{BOB}/consent"),
            &[("consent", "allow"), ("for", "always")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("clients.consent.manage"));
    assert_eq!(app.text(&format!("SELECT consent FROM clients WHERE id = {BOB}")).await.as_deref(), Some("unset"));
    // An admin holds it.
    let mut admin = app.staff("admin@example.com").await;
    let p = admin
        .post_from(
            &format!("/admin/clients/{BOB}"),
            &format!("/admin/clients/{BOB}/consent"),
            &[("consent", "allow"), ("for", "7d")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(admin
        .get(&format!("/admin/clients/{BOB}"))
        .await
        .text_of("consent-label")
        .unwrap()
        .starts_with("allowed until"));
    let p = admin
        .post_from(
            &format!("/admin/clients/{BOB}"),
            &format!("/admin/clients/{BOB}/consent"),
            &[("consent", "sure"), ("for", "7d")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM activity WHERE action = 'Changed support access consent' AND actor_kind = 'staff'"
        )
        .await,
        1
    );
    // While impersonating, the control is hidden and refused.
    admin.impersonate(BOB, &[("mode", "full")]).await;
    let account = admin.get("/account").await;
    assert!(!account.has("allow-support"));
    let p = admin.portal_post("/account/consent", &[("from_checkbox", "1"), ("for", "always")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(app.text(&format!("SELECT consent FROM clients WHERE id = {BOB}")).await.as_deref(), Some("allowed"));
}

#[tokio::test]
async fn a_required_reason_is_asked_for_stored_and_shown() {
    let app = TestApp::spawn().await;
    app.set("impersonation.require_reason", "true").await;
    let mut admin = app.staff("admin@example.com").await;
    let p = admin.impersonate(BOB, &[("reason", "too short")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("at least 10 characters"));
    assert!(p.body.contains("value=\"too short\""), "what was typed is kept");
    let huge = "r".repeat(100 * 1024);
    let p = admin.impersonate(BOB, &[("reason", huge.as_str())]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("at most 500 characters"));
    assert_eq!(app.impersonation_count().await, 0);

    let reason = "Ticket #4521: invoice missing";
    assert_eq!(admin.impersonate(BOB, &[("reason", reason)]).await.status, StatusCode::SEE_OTHER);
    let dash = admin.get("/dashboard").await;
    assert!(dash.body.contains(&format!("title=\"Reason: {reason}\"")), "reason in the banner's tooltip");
    assert_eq!(app.text("SELECT reason FROM impersonations").await.as_deref(), Some(reason));
    admin.return_to_admin().await;
    assert!(admin.get("/admin/impersonations").await.body.contains(reason));
    let mut bob = app.client("bob@example.com").await;
    assert!(bob.get("/account/access").await.text_of("access").unwrap().contains(reason));
}
