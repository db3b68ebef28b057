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
    let before = (app.impersonation_count().await, app.count(Table::Sessions).await);
    let p = admin.impersonate(BOB, &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("has not allowed support staff"));
    assert_eq!(before, (app.impersonation_count().await, app.count(Table::Sessions).await));

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
    app.expire_consent(BOB).await;
    assert_eq!(admin.impersonate(BOB, &[]).await.status, StatusCode::FORBIDDEN);

    // Unticking refuses; under opt_out only a refusal keeps staff out.
    bob.portal_post("/account/consent", &[("from_checkbox", "1"), ("for", "always")]).await;
    assert_eq!(app.client_row(BOB).await.consent, "refused");
    app.set("impersonation.consent", "opt_out").await;
    assert_eq!(admin.impersonate(BOB, &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.impersonate(JANE, &[]).await.status, StatusCode::SEE_OTHER, "Jane allowed");
    let unset = app.clients().await.into_iter().rev().find(|c| c.consent == "unset" && c.active == 1);
    let unset = unset.expect("an active client who never chose").id;
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
    assert_eq!(app.client_row(BOB).await.consent, "unset");
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
    let changed = app.activity_rows("Changed support access consent").await;
    assert_eq!(changed.iter().filter(|r| r.actor_kind == "staff").count(), 1);
    // While impersonating, the control is shown disabled as Bob's own, and refused.
    admin.impersonate(BOB, &[("mode", "full")]).await;
    let account = admin.get("/account").await;
    let consent = account.form("/account/consent").expect("the consent form is shown");
    assert!(consent.disabled);
    assert_eq!(consent.note.as_deref(), Some("Only Bob can change this"));
    let p = admin.portal_post("/account/consent", &[("from_checkbox", "1"), ("for", "always")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(app.client_row(BOB).await.consent, "allowed");
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
    assert_eq!(app.latest_impersonation().await.reason, reason);
    admin.return_to_admin().await;
    assert!(admin.get("/admin/impersonations").await.body.contains(reason));
    let mut bob = app.client("bob@example.com").await;
    assert!(bob.get("/account/access").await.text_of("access").unwrap().contains(reason));
}

#[tokio::test]
async fn the_client_is_told_in_the_portal_and_by_email_and_sees_what_was_done() {
    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    let app = TestApp::with_config(|c| c.smtp_url = Some(url)).await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full"), ("reason", "Ticket 1: invoice display")]).await;
    admin.portal_post("/tickets/1/replies", &[("body", "Fixed the invoice view")]).await;
    // Staff never see the notice, not even inside the impersonation.
    assert!(!admin.get("/dashboard").await.has("access-notice"));
    admin.return_to_admin().await;

    // The e-mail was queued in the same transaction and delivered through SMTP.
    assert_eq!(app.outbox().await.iter().filter(|m| m.to_email == "jane@example.com").count(), 1);
    let mut delivered = false;
    for _ in 0..50 {
        if app.outbox().await.iter().filter(|m| m.sent_at.is_some()).count() == 1 {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "the mailer delivered the outbox");
    let mail = sink.messages.lock().unwrap().join("\n");
    assert!(mail.contains("Alice Admin from our support team logged in to your account"), "{mail}");
    assert!(mail.contains("Ticket 1: invoice display"));

    // Jane sees the notice on her next visit, the actions in plain words, and may dismiss it.
    let mut jane = app.client("jane@example.com").await;
    let dash = jane.get("/dashboard").await;
    let notice = dash.text_of("access-notice").expect("notice shown");
    assert!(notice.contains("Alice Admin") && notice.contains("Ticket 1: invoice display"), "{notice}");
    let access = jane.get("/account/access").await.text_of("access").unwrap();
    assert!(access.contains("Alice Admin") && access.contains("Replied to a ticket (ticket #1)"), "{access}");
    assert_eq!(jane.portal_post("/account/access/seen", &[]).await.status, StatusCode::SEE_OTHER);
    assert!(!jane.get("/dashboard").await.has("access-notice"));

    // Switched off, there is no notice and no mail; a look-only session says so.
    app.set("impersonation.notify_client", "false").await;
    admin.impersonate(JANE, &[]).await;
    admin.return_to_admin().await;
    assert_eq!(app.count(Table::Outbox).await, 1);
    assert!(!jane.get("/dashboard").await.has("access-notice"));
    assert!(jane.get("/account/access").await.body.contains("Looked only; changed nothing."));
}

#[tokio::test]
async fn without_smtp_mail_stays_queued() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(BOB, &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let queued = app.outbox().await;
    assert_eq!(queued.iter().filter(|m| m.sent_at.is_none() && m.to_email == "bob@example.com").count(), 1);
}

#[tokio::test]
async fn settings_page_validates_everything_and_records_changes() {
    let app = TestApp::spawn().await;
    let mut manager = app.staff("manager@example.com").await;
    assert_eq!(manager.get("/admin/settings").await.status, StatusCode::FORBIDDEN);
    assert!(!manager.get("/admin").await.body.contains("href=\"/admin/settings\""));

    let mut admin = app.staff("admin@example.com").await;
    let page = admin.get("/admin/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    let bad = admin
        .post_from(
            "/admin/settings",
            "/admin/settings",
            &[
                ("impersonation.max_duration", "10y"),
                ("impersonation.idle_timeout", "-5m"),
                ("impersonation.consent", "sometimes"),
                ("impersonation.require_reason", "true"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text_of("setting-impersonation-max_duration-error").unwrap().contains("not a duration"));
    assert!(bad.text_of("setting-impersonation-idle_timeout-error").is_some());
    assert!(bad.text_of("setting-impersonation-consent-error").unwrap().contains("one of"));
    assert!(bad.body.contains("value=\"10y\""), "typed values are kept");
    assert_eq!(app.count(Table::Settings).await, 0, "nothing saved");

    let ok = admin
        .post_from(
            "/admin/settings",
            "/admin/settings",
            &[
                ("impersonation.max_duration", "2h"),
                ("impersonation.require_reason", "true"),
                ("impersonation.enabled", "true"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(app.stored_setting("impersonation.max_duration").await.as_deref(), Some("2h"));
    let log = admin.get("/admin/activity?group=settings").await;
    assert!(
        log.body.contains("60m -&gt; 2h") || log.body.contains("(default) -&gt; 2h"),
        "old and new values recorded"
    );
    assert_eq!(app.activity_in_group("settings").await.len(), 2, "unchanged keys are not recorded");
    // The next start follows the new settings.
    assert_eq!(admin.impersonate(BOB, &[]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_log_filters_pages_and_exports() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let mut max = app.staff("manager@example.com").await;
    admin.impersonate(JANE, &[("reason", "first, \"quoted\"")]).await;
    admin.return_to_admin().await;
    max.impersonate(BOB, &[]).await;
    admin.impersonate(BOB, &[]).await;
    app.set_impersonation_start(1, 86400 * 365).await;
    let admin_id = app.staff_id("admin@example.com").await;

    let all = admin.get("/admin/impersonations").await;
    assert!(all.body.contains("3 sessions"));
    assert!(admin.get(&format!("/admin/impersonations?staff={admin_id}")).await.body.contains("2 sessions"));
    assert!(admin.get(&format!("/admin/impersonations?client={BOB}")).await.body.contains("2 sessions"));
    assert!(admin.get("/admin/impersonations?state=live").await.body.contains("2 sessions"));
    assert!(admin.get("/admin/impersonations?state=ended").await.body.contains("1 session<"));
    assert!(admin.get("/admin/impersonations?from=1971-01-01&to=1971-01-01").await.body.contains("1 session<"));
    // Staff know clients by name or e-mail: any part of either, any case; a number is an id.
    assert!(admin.get("/admin/impersonations?client=bob").await.body.contains("2 sessions"));
    assert!(admin.get("/admin/impersonations?client=BOB%40EXAMPLE.COM").await.body.contains("2 sessions"));
    assert!(admin.get("/admin/impersonations?client=+Jane+").await.body.contains("1 session<"));
    assert!(admin.get("/admin/impersonations?client=%25").await.body.contains("0 sessions"), "% is a character");
    assert!(admin.get("/admin/impersonations?client=_").await.body.contains("0 sessions"), "_ is a character");
    let long = "x".repeat(201);
    assert_eq!(admin.get(&format!("/admin/impersonations?client={long}")).await.status, StatusCode::BAD_REQUEST);
    let today = admin.get("/admin/impersonations").await;
    let href =
        today.body.split("id=\"today\" href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    assert!(admin.get(&href).await.body.contains("2 sessions"), "the today shortcut");
    assert_eq!(admin.get("/admin/impersonations?from=yesterday").await.status, StatusCode::BAD_REQUEST);

    let csv = admin.get(&format!("/admin/impersonations.csv?staff={admin_id}")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(!csv.body.contains("impersonation-banner"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "header and two rows: {}", csv.body);
    assert!(csv.body.contains("\"first, \"\"quoted\"\"\""));

    // Without impersonation.log.view: no menu item, and the URLs answer 403.
    let mut sue = app.staff("support@example.com").await;
    assert!(!sue.get("/admin").await.body.contains("/admin/impersonations"));
    assert_eq!(sue.get("/admin/impersonations").await.status, StatusCode::FORBIDDEN);
    assert_eq!(sue.get("/admin/impersonations.csv").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn roles_are_edited_and_take_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.get("/admin/roles").await.status, StatusCode::FORBIDDEN, "admin lacks staff.manage");
    let mut max = app.staff("manager@example.com").await;
    max.impersonate(JANE, &[]).await;

    let mut sam = app.staff("superadmin@example.com").await;
    let page = sam.get("/admin/roles").await;
    assert!(page.has("roles"));
    // Save the matrix with the manager losing clients.impersonate and support gaining it.
    let token = page.csrf().unwrap();
    let roles = app.roles().await;
    let mut form: Vec<(String, String)> = vec![("csrf_token".into(), token)];
    for (id, name) in &roles {
        for p in app.role_permissions(*id).await {
            let drop = (name == "manager" && p == "clients.impersonate") || name == "super_admin";
            if !drop {
                form.push(("grant".into(), format!("{id}:{p}")));
            }
        }
        if name == "support" {
            form.push(("grant".into(), format!("{id}:clients.impersonate")));
        }
    }
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = sam.post_raw("/admin/roles", &refs).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // super_admin was not reduced although none of its grants were sent.
    assert_eq!(app.role_permissions(app.role_id("super_admin").await).await.len(), 12);
    // The manager's live impersonation ended as revoked, and the button is gone.
    assert_eq!(app.impersonation(1).await.end_reason.as_deref(), Some("revoked"));
    assert_eq!(max.get("/dashboard").await.location(), Some("/admin/clients/1?ended=revoked"));
    assert!(!max.get("/admin/clients/1").await.has("login-as-client"));
    let mut sue = app.staff("support@example.com").await;
    assert!(sue.get("/admin/clients/1").await.has("login-as-client"));
    assert!(app.activity_count_of("Role permissions changed").await >= 2);

    // New roles; bad names and unknown permissions are refused.
    let p = sam.post_from("/admin/roles", "/admin/roles/new", &[("name", "auditor")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(sam.get("/admin/roles").await.body.contains("auditor"));
    let p = sam.post_from("/admin/roles", "/admin/roles/new", &[("name", "auditor")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = sam.post_from("/admin/roles", "/admin/roles/new", &[("name", "<b>x</b>")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = sam.post_from("/admin/roles", "/admin/roles", &[("grant", "1:root.everything")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn staff_are_added_changed_and_disabled_from_the_admin() {
    let app = TestApp::spawn().await;
    let mut sam = app.staff("superadmin@example.com").await;
    assert!(sam.get("/admin").await.body.contains("href=\"/admin/staff\""));
    let p = sam
        .post_from(
            "/admin/staff",
            "/admin/staff",
            &[("email", "nia@example.com"), ("name", "Nia New"), ("role", "manager"), ("password", "short")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("value=\"nia@example.com\"") && p.body.contains("value=\"Nia New\""), "typed values kept");
    let p = sam
        .post_from(
            "/admin/staff",
            "/admin/staff",
            &[("email", "nia@example.com"), ("name", "Nia New"), ("role", "wizard"), ("password", "long-enough-pw")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = sam
        .post_from(
            "/admin/staff",
            "/admin/staff",
            &[("email", "nia@example.com"), ("name", "Nia New"), ("role", "admin"), ("password", "long-enough-pw")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = sam
        .post_from(
            "/admin/staff",
            "/admin/staff",
            &[("email", "NIA@example.com"), ("name", "Nia Again"), ("role", "admin"), ("password", "long-enough-pw")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "duplicate e-mail");

    let mut nia = app.browser();
    let p = nia
        .post_from("/admin/login", "/admin/login", &[("email", "nia@example.com"), ("password", "long-enough-pw")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    nia.impersonate(JANE, &[("mode", "full")]).await;
    let nia_id = app.staff_id("nia@example.com").await;

    // Down to support: the live full-mode session ends on its next request.
    let p = sam.post_from("/admin/staff", &format!("/admin/staff/{nia_id}/role"), &[("role", "support")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(nia.get("/dashboard").await.location(), Some("/admin/clients/1?ended=revoked"));
    // Disabling ends the admin session too.
    let p = sam.post_from("/admin/staff", &format!("/admin/staff/{nia_id}/disable"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(nia.get("/admin").await.location(), Some("/admin/login"));
    // Nobody disables themselves, and admins without staff.manage cannot reach the page.
    let sam_id = app.staff_id("superadmin@example.com").await;
    assert_eq!(
        sam.post_from("/admin/staff", &format!("/admin/staff/{sam_id}/disable"), &[]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.get("/admin/staff").await.status, StatusCode::FORBIDDEN);
    let p = admin.post_from("/admin", &format!("/admin/staff/{sam_id}/disable"), &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(app.staff_member(sam_id).await.active, 1);
}

#[tokio::test]
async fn the_activity_log_filters_by_group_actor_and_client() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full")]).await;
    admin.portal_post("/tickets/1/replies", &[("body", "as Jane")]).await;
    admin.return_to_admin().await;
    let mut bob = app.client("bob@example.com").await;
    let bob_ticket = app.first_ticket_of(BOB).await;
    bob.portal_post(&format!("/tickets/{bob_ticket}/replies"), &[("body", "as Bob")]).await;
    let admin_id = app.staff_id("admin@example.com").await;

    let rows = |p: &Page| p.body.matches("<td class=\"action\">").count();
    let tickets = admin.get("/admin/activity?group=tickets").await;
    assert_eq!(rows(&tickets), 2);
    assert!(tickets.body.contains("Jane Smith (by Alice Admin via Login as Client)"));
    assert!(tickets.body.contains("Login as Client #1"), "the impersonation session is named");
    let by_admin = admin.get(&format!("/admin/activity?group=tickets&actor=staff:{admin_id}")).await;
    assert_eq!(rows(&by_admin), 1);
    let by_bob = admin.get(&format!("/admin/activity?group=tickets&actor=client:{BOB}")).await;
    assert_eq!(rows(&by_bob), 1);
    assert!(by_bob.body.contains("Replied to a ticket"));
    let jane_all = admin.get(&format!("/admin/activity?client={JANE}")).await;
    assert!(jane_all.body.contains("Staff impersonated client") && !jane_all.body.contains("as Bob"));
    let lac = admin.get("/admin/activity?group=login_as_client").await;
    assert_eq!(rows(&lac), 2, "start and end");
    assert_eq!(admin.get("/admin/activity?actor=staff:abc").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/admin/activity?client=-4").await.status, StatusCode::BAD_REQUEST);
}
