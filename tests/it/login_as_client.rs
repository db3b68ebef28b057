//! Login as Client end to end: SPEC §2 and the five user steps of the core issue.

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn user_story_admin_logs_in_as_jane_replies_and_returns() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;

    // Step 2: search for Jane, open her record, see the button.
    let list = admin.get("/admin/clients?q=jane").await;
    assert!(list.body.contains("Jane Smith"));
    assert!(!list.body.contains("Bob Jones"), "search narrows the list");
    let record = admin.get(&format!("/admin/clients/{JANE}")).await;
    assert!(record.has("login-as-client"));
    let last_login_before = record.text_of("last-login").unwrap();

    // Step 3: land on the dashboard as Jane with the banner.
    let start = admin.impersonate(JANE, &[("mode", "full"), ("reason", "Ticket 1 follow-up")]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(start.location(), Some("/dashboard"));
    let dash = admin.get("/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    let banner = dash.text_of("impersonation-banner").expect("banner on the dashboard");
    assert!(banner.contains("You are viewing the portal as: Jane Smith (jane@example.com)"), "{banner}");
    assert!(banner.contains("Mode: full access"), "{banner}");
    assert!(banner.contains("Time left:"), "{banner}");
    assert!(banner.contains("Return to Admin"), "{banner}");
    assert_eq!(dash.headers["cache-control"], "no-store, private");
    for path in
        ["/services", "/invoices", "/tickets", "/orders", "/account", "/account/access", "/invoices/1", "/tickets/1"]
    {
        let p = admin.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(p.has("impersonation-banner"), "banner on {path}");
        assert!(!p.body.contains("Bob Jones"), "no other client's data on {path}");
    }
    // Bob's ticket and invoice are not reachable through Jane's session.
    let bob_ticket = app.first_ticket_of(BOB).await;
    assert_eq!(admin.get(&format!("/tickets/{bob_ticket}")).await.status, StatusCode::NOT_FOUND);
    let bob_invoice = app.invoices_of(BOB).await.first().expect("Bob has invoices").id;
    assert_eq!(admin.get(&format!("/invoices/{bob_invoice}")).await.status, StatusCode::NOT_FOUND);

    // Step 4: reply in full mode, return, and find the reply attributed on both sides.
    let reply = admin.portal_post("/tickets/1/replies", &[("body", "Checked your invoice settings")]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let back = admin.return_to_admin().await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(back.location(), Some(format!("/admin/clients/{JANE}").as_str()));
    let ticket = admin.get("/admin/tickets/1").await;
    assert!(ticket.body.contains("Checked your invoice settings"));
    assert!(
        ticket.body.contains("Jane Smith<span class=\"actor\"> (by Alice Admin via Login as Client)"),
        "{}",
        ticket.body
    );
    let log = admin.get("/admin/activity?group=login_as_client").await;
    assert!(log.body.contains("Staff impersonated client"));
    assert!(log.body.contains("Alice Admin") && log.body.contains("Jane Smith"));
    let tickets_log = admin.get("/admin/activity?group=tickets").await;
    assert!(tickets_log.body.contains("Jane Smith (by Alice Admin via Login as Client)"));
    assert!(tickets_log.body.contains("Replied to a ticket"));
    // The reply and its activity row carry the impersonation id.
    let imp = app.latest_impersonation().await.id;
    assert_eq!(app.ticket_replies().await.iter().filter(|r| r.impersonation_id == Some(imp)).count(), 1);
    let replied = app.activity_rows("Replied to a ticket").await;
    assert_eq!(replied.iter().filter(|r| r.impersonation_id == Some(imp)).count(), 1);

    // Point 6: the client's last sign-in is unchanged and no ordinary sign-in event fired.
    let record = admin.get(&format!("/admin/clients/{JANE}")).await;
    assert_eq!(record.text_of("last-login").unwrap(), last_login_before);
    assert_eq!(app.activity_count_of("Client signed in").await, 0);

    // Jane, signed in on her own, sees who acted on her behalf and no banner.
    let mut jane = app.client("jane@example.com").await;
    let t = jane.get("/tickets/1").await;
    assert!(!t.has("impersonation-banner"));
    assert!(t.body.contains("(by Alice Admin on your behalf)"));
}

#[tokio::test]
async fn support_sees_no_button_and_a_forged_post_is_refused() {
    let app = TestApp::spawn().await;
    let mut support = app.staff("support@example.com").await;
    let record = support.get(&format!("/admin/clients/{JANE}")).await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(!record.has("login-as-client"));
    let before = (app.impersonation_count().await, app.activity_count().await, app.count(Table::Sessions).await);
    let forged = support.impersonate(JANE, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let after = (app.impersonation_count().await, app.activity_count().await, app.count(Table::Sessions).await);
    assert_eq!(before, after, "a refused start changes nothing");
    assert!(support.cookie("behalf_client").is_none());

    let mut billing = app.staff("billing@example.com").await;
    assert_eq!(billing.impersonate(JANE, &[]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn start_is_post_only_with_csrf_and_a_staff_session() {
    let app = TestApp::spawn().await;
    let mut anon = app.browser();
    let p = anon.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &[("csrf_token", "x")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/admin/login"));

    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.get(&format!("/admin/clients/{JANE}/impersonate")).await.status, StatusCode::METHOD_NOT_ALLOWED);
    let bad = admin.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &[("csrf_token", "forged")]).await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    let none = admin.post_raw(&format!("/admin/clients/{JANE}/impersonate"), &[]).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    // A token of the right session, sent from another site, is refused too.
    let token = admin.get(&format!("/admin/clients/{JANE}")).await.csrf().unwrap();
    let cross = admin
        .http
        .post(format!("{}/admin/clients/{JANE}/impersonate", app.base))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.impersonation_count().await, 0);
}

#[tokio::test]
async fn refusals_have_the_right_status_and_create_nothing() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.impersonate(JANE, &[]).await.status, StatusCode::SEE_OTHER);
    let live_cookie = admin.cookie("behalf_client").unwrap();
    let count = app.impersonation_count().await;

    // Unknown client.
    let p = admin.post_from(&format!("/admin/clients/{JANE}"), "/admin/clients/999999/impersonate", &[]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    // Disabled client.
    let p = admin.impersonate(IVAN, &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("disabled"));
    // Unknown mode.
    assert_eq!(admin.impersonate(BOB, &[("mode", "root")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Feature switched off.
    app.set("impersonation.enabled", "false").await;
    let p = admin.impersonate(BOB, &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("switched off"));
    app.set("impersonation.enabled", "true").await;

    // A manager may look but not ask for full mode.
    let mut manager = app.staff("manager@example.com").await;
    let p = manager.impersonate(BOB, &[("mode", "full")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(manager.cookie("behalf_client").is_none());

    assert_eq!(app.impersonation_count().await, count, "no session created by any refusal");
    // The live impersonation goes on.
    assert_eq!(admin.cookie("behalf_client").unwrap(), live_cookie);
    let dash = admin.get("/dashboard").await;
    assert!(dash.text_of("impersonation-banner").unwrap().contains("Jane Smith"));
    assert_eq!(app.impersonation(1).await.end_reason, None);
}

#[tokio::test]
async fn a_client_session_cannot_reach_admin_pages_or_start_impersonations() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let p = jane.get("/admin").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/admin/login"));
    let token = jane.get("/dashboard").await.csrf().unwrap();
    let p = jane.post_raw(&format!("/admin/clients/{BOB}/impersonate"), &[("csrf_token", token.as_str())]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/admin/login"));
    assert_eq!(app.impersonation_count().await, 0);
}

#[tokio::test]
async fn start_creates_a_new_session_and_ends_the_browsers_old_portal_session() {
    let app = TestApp::spawn().await;
    // One browser holds Jane's own session and then an admin session.
    let mut b = app.browser();
    b.login_client("bob@example.com").await;
    let own = b.cookie("behalf_client").unwrap();
    b.login_staff("admin@example.com").await;
    let staff_cookie = b.cookie("behalf_staff").unwrap();
    // Jane is signed in elsewhere too.
    let mut jane = app.client("jane@example.com").await;

    assert_eq!(b.impersonate(JANE, &[]).await.status, StatusCode::SEE_OTHER);
    let imp = b.cookie("behalf_client").unwrap();
    assert_ne!(imp, own, "a fresh token, never one the browser sent");
    assert_eq!(b.cookie("behalf_staff").unwrap(), staff_cookie, "the admin session is untouched");
    assert_eq!(b.get("/admin").await.status, StatusCode::OK);
    // Tokens are stored only as hashes.
    assert_eq!(app.sessions_with_token_hash(&imp).await, 0);

    // The browser's old client session was ended on the server.
    let mut replay = app.browser();
    replay.put_cookie("behalf_client", &own);
    let p = replay.get("/dashboard").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/login"));

    // Jane's own session elsewhere is untouched and never sees a banner.
    let p = jane.get("/dashboard").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.has("impersonation-banner"));
}

#[tokio::test]
async fn one_live_impersonation_per_staff_member() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[]).await;
    let first = admin.cookie("behalf_client").unwrap();
    // A second tab of the same staff member starts another one.
    admin.impersonate(BOB, &[]).await;
    assert_eq!(app.live_impersonations().await.len(), 1);
    assert_eq!(app.impersonation(1).await.end_reason.as_deref(), Some("replaced"));
    let mut old = app.browser();
    old.put_cookie("behalf_client", &first);
    assert_eq!(old.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert!(admin.get("/dashboard").await.text_of("impersonation-banner").unwrap().contains("Bob Jones"));
}

#[tokio::test]
async fn next_is_followed_only_when_same_site() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let p = admin.impersonate(JANE, &[("next", "/tickets/1")]).await;
    assert_eq!(p.location(), Some("/tickets/1"));
    let p = admin.impersonate(JANE, &[("next", "https://evil.example/")]).await;
    assert_eq!(p.location(), Some("/dashboard"));
    let p = admin.impersonate(JANE, &[("next", "//evil.example/")]).await;
    assert_eq!(p.location(), Some("/dashboard"));
}

#[tokio::test]
async fn read_only_mode_refuses_writes_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let mut manager = app.staff("manager@example.com").await;
    manager.impersonate(JANE, &[]).await;
    assert!(manager.get("/dashboard").await.text_of("impersonation-banner").unwrap().contains("Mode: read-only"));
    let replies = app.count(Table::TicketReplies).await;
    let tickets = app.count(Table::Tickets).await;
    let p = manager.portal_post("/tickets/1/replies", &[("body", "should not land")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("read-only"));
    assert!(p.has("impersonation-banner"), "the refusal page keeps the banner");
    assert_eq!(manager.portal_post("/tickets", &[("subject", "x"), ("body", "y")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        manager.portal_post("/account", &[("name", "Hacked"), ("phone", "1")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count(Table::TicketReplies).await, replies);
    assert_eq!(app.count(Table::Tickets).await, tickets);
    assert_eq!(app.client_row(JANE).await.name, "Jane Smith");
}

#[tokio::test]
async fn sensitive_actions_are_refused_even_in_full_mode() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full")]).await;
    let account = admin.get("/account").await;
    let password = account.form("/account/password").expect("the password form is shown");
    assert!(password.disabled, "sensitive controls are disabled even in full mode");
    assert_eq!(password.note.as_deref(), Some("Only Jane can change this"));
    let hash = app.client_row(JANE).await.password_hash;
    for (path, form) in [
        ("/account/password", vec![("current_password", "behalf-demo"), ("new_password", "a-new-password-1")]),
        ("/account/email", vec![("email", "taken@example.com")]),
        ("/account/consent", vec![("consent", "refuse"), ("for", "always")]),
        ("/account/payment-methods", vec![]),
        ("/account/end-support-access", vec![]),
        ("/account/delete", vec![]),
    ] {
        let p = admin.portal_post(path, &form).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(p.body.contains("only available to the client"), "{path}");
    }
    assert_eq!(admin.get("/account/payment-methods").await.status, StatusCode::FORBIDDEN);
    let jane = app.client_row(JANE).await;
    assert_eq!(jane.password_hash, hash);
    assert_eq!(jane.email, "jane@example.com");
    assert_eq!(jane.consent, "allowed");
    assert_eq!(jane.active, 1);
    assert_eq!(app.live_impersonations().await.len(), 1);
}

#[tokio::test]
async fn names_are_escaped_in_the_banner() {
    let app = TestApp::spawn().await;
    let mut bob = app.client("bob@example.com").await;
    assert_eq!(
        bob.portal_post("/account", &[("name", "<script>alert(1)</script>"), ("phone", "")]).await.status,
        StatusCode::SEE_OTHER
    );
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(BOB, &[]).await;
    let dash = admin.get("/dashboard").await;
    assert!(dash.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dash.body.contains("<script>alert(1)"));
}

#[tokio::test]
async fn return_to_admin_ends_the_session_and_kills_the_cookie() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    // Without a live impersonation: 403; GET: 405.
    let p = admin.post_raw("/impersonation/return", &[("csrf_token", "x")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/impersonation/return").await.status, StatusCode::METHOD_NOT_ALLOWED);

    admin.impersonate(JANE, &[]).await;
    let cookie = admin.cookie("behalf_client").unwrap();
    let p = admin.return_to_admin().await;
    assert_eq!(p.location(), Some("/admin/clients/1"));
    assert!(p.set_cookie("behalf_client").unwrap().contains("Max-Age=0"));
    assert_eq!(app.last_end_reason().await.as_deref(), Some("returned"));
    let mut replay = app.browser();
    replay.put_cookie("behalf_client", &cookie);
    assert_eq!(replay.get("/dashboard").await.location(), Some("/login"));
    let p = replay.post_raw("/impersonation/return", &[("csrf_token", "x")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

/// Starts an impersonation of Jane by admin and returns the browser.
async fn admin_as_jane(app: &TestApp) -> Browser {
    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    admin
}

/// The next portal request lands on the admin record with the reason.
async fn assert_ended(app: &TestApp, b: &mut Browser, reason: &str) {
    let p = b.get("/dashboard").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{reason}");
    let loc = p.location().unwrap_or("").to_string();
    // A closed session cleared its cookie; every other end is noticed by the tab itself.
    let expected =
        if reason == "closed" { "/login".to_string() } else { format!("/admin/clients/{JANE}?ended={reason}") };
    assert_eq!(loc, expected, "{reason}");
    assert_eq!(app.last_end_reason().await.as_deref(), Some(reason));
    assert_eq!(app.impersonation_session_count().await, 0, "{reason}");
    let newest = app.newest_activity("Login as Client ended").await.unwrap().detail;
    assert!(newest.starts_with(&format!("end reason: {reason};")), "{reason}: {newest}");
}

#[tokio::test]
async fn every_end_is_effective_on_the_next_request_and_recorded() {
    let app = TestApp::spawn().await;

    // closed: the portal's own sign-out inside the impersonation.
    let mut b = admin_as_jane(&app).await;
    let p = b.portal_post("/logout", &[]).await;
    assert_eq!(p.location(), Some("/admin/clients/1?ended=closed"));
    assert_ended(&app, &mut b, "closed").await;

    // expired: past the maximum duration.
    let mut b = admin_as_jane(&app).await;
    app.expire_impersonation(app.live_impersonation().await.unwrap().id).await;
    assert_ended(&app, &mut b, "expired").await;

    // idle: not seen for longer than the idle timeout.
    let mut b = admin_as_jane(&app).await;
    app.set("impersonation.idle_timeout", "1m").await;
    app.idle_impersonation(app.live_impersonation().await.unwrap().id, 120).await;
    assert_ended(&app, &mut b, "idle").await;
    app.set("impersonation.idle_timeout", "15m").await;

    // staff_logout: signing out of the admin.
    let mut b = admin_as_jane(&app).await;
    let p = b.post_from("/admin", "/admin/logout", &[]).await;
    assert_eq!(p.location(), Some("/admin/login"));
    assert_ended(&app, &mut b, "staff_logout").await;

    // revoked: the role loses clients.impersonate.
    let mut b = admin_as_jane(&app).await;
    app.revoke_permission("admin", "clients.impersonate").await;
    assert_ended(&app, &mut b, "revoked").await;
    app.grant_permission("admin", "clients.impersonate").await;

    // ended_by_staff: a super admin ends it from the log.
    let mut b = admin_as_jane(&app).await;
    let mut sam = app.staff("superadmin@example.com").await;
    let id = app.live_impersonation().await.unwrap().id;
    let log = sam.get("/admin/impersonations?state=live").await;
    assert!(log.body.contains(&format!("/admin/impersonations/{id}/end")));
    let p = sam.post_from("/admin/impersonations", &format!("/admin/impersonations/{id}/end"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_ended(&app, &mut b, "ended_by_staff").await;
    // A manager lacks impersonation.sessions.end.
    let mut b = admin_as_jane(&app).await;
    let mut max = app.staff("manager@example.com").await;
    let id = app.live_impersonation().await.unwrap().id;
    assert_eq!(
        max.post_from("/admin/impersonations", &format!("/admin/impersonations/{id}/end"), &[]).await.status,
        StatusCode::FORBIDDEN
    );

    // client_ended: Jane presses End support access; her consent is unchanged.
    let mut jane = app.client("jane@example.com").await;
    let p = jane.portal_post("/account/end-support-access", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_ended(&app, &mut b, "client_ended").await;
    assert_eq!(app.client_row(JANE).await.consent, "allowed");

    // Jane signing out of her own session does not end a live impersonation.
    let mut b = admin_as_jane(&app).await;
    jane.portal_post("/logout", &[]).await;
    assert_eq!(b.get("/dashboard").await.status, StatusCode::OK);

    // revoked: the staff account is disabled.
    app.disable_staff("admin@example.com").await;
    assert_ended(&app, &mut b, "revoked").await;
    assert_eq!(b.get("/admin").await.location(), Some("/admin/login"));
}

#[tokio::test]
async fn impersonation_cookie_is_a_session_cookie() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let p = admin.impersonate(JANE, &[]).await;
    let c = p.set_cookie("behalf_client").unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"), "{c}");
    assert!(!c.contains("Max-Age") && !c.contains("Expires"), "dies with the browser: {c}");
}

#[tokio::test]
async fn the_demo_has_every_named_account_and_200_more_clients() {
    let app = TestApp::with_clients(200).await;
    assert!(app.count(Table::Clients).await >= 204);
    assert_eq!(app.invoices_of(100).await.len(), 20);
    assert_eq!(app.ticket_count_of(100).await, 5);
    assert_eq!(app.service_count_of(100).await, 3);
    for (email, role) in [
        ("superadmin@example.com", "super_admin"),
        ("admin@example.com", "admin"),
        ("manager@example.com", "manager"),
        ("support@example.com", "support"),
        ("billing@example.com", "billing"),
    ] {
        let got = app.staff_members().await.into_iter().find(|s| s.email == email).map(|s| s.role);
        assert_eq!(got.as_deref(), Some(role));
    }
    assert_eq!(app.client_row(RITA).await.consent, "refused");
    let ivan = app.clients().await.into_iter().find(|c| c.email == "ivan@example.com").expect("Ivan");
    assert_eq!(ivan.active, 0);
    let mut admin = app.staff("admin@example.com").await;
    let list = admin.get("/admin/clients?page=2").await;
    assert!(list.body.contains("Page 2 of"));
}
