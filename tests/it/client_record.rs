//! The client record's header: the client's name with badges for their state, and Login as
//! Client as the primary action at the top, before the settings section.

use crate::support::*;
use reqwest::StatusCode;

/// The `class` attribute of the element with this id.
fn class_of(page: &Page, id: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse(&format!("#{id}")).ok()?;
    doc.select(&sel).next().and_then(|e| e.value().attr("class")).map(str::to_string)
}

/// The text of the first element matching a CSS selector, whitespace squashed.
fn text_at(page: &Page, css: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse(css).ok()?;
    doc.select(&sel).next().map(|e| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Where in the page the element with this id starts.
fn position_of(page: &Page, id: &str) -> usize {
    page.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} on the page"))
}

#[tokio::test]
async fn the_badges_say_active_or_disabled_and_the_support_access_answer() {
    let app = TestApp::spawn().await;
    app.set("impersonation.consent", "opt_in").await;
    let mut admin = app.staff("admin@example.com").await;

    let jane = admin.get(&format!("/admin/clients/{JANE}")).await;
    assert_eq!(jane.text_of("client-header").map(|h| h.starts_with("Jane Smith")), Some(true));
    assert_eq!(jane.text_of("client-status").as_deref(), Some("active"));
    assert_eq!(class_of(&jane, "client-status").as_deref(), Some("badge ok"));
    assert_eq!(jane.text_of("support-access").as_deref(), Some("Support access: allowed until revoked"));
    assert_eq!(class_of(&jane, "support-access").as_deref(), Some("badge ok"));
    assert!(!jane.has("live-badge"), "nobody is in Jane's portal");

    let ivan = admin.get(&format!("/admin/clients/{IVAN}")).await;
    assert_eq!(ivan.text_of("client-status").as_deref(), Some("disabled"));
    assert_eq!(class_of(&ivan, "client-status").as_deref(), Some("badge off"));

    let bob = admin.get(&format!("/admin/clients/{BOB}")).await;
    assert_eq!(bob.text_of("support-access").as_deref(), Some("Support access: not set"));
    assert_eq!(class_of(&bob, "support-access").as_deref(), Some("badge unset"));
    let rita = admin.get(&format!("/admin/clients/{RITA}")).await;
    assert_eq!(rita.text_of("support-access").as_deref(), Some("Support access: refused"));
    assert_eq!(class_of(&rita, "support-access").as_deref(), Some("badge off"));

    // A grant for 24 hours names its end; once it has run out it reads like no answer.
    let p = admin
        .post_from(
            &format!("/admin/clients/{BOB}"),
            &format!("/admin/clients/{BOB}/consent"),
            &[("consent", "allow"), ("for", "24h")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let bob = admin.get(&format!("/admin/clients/{BOB}")).await;
    assert!(bob.text_of("support-access").unwrap().starts_with("Support access: allowed until "));
    assert_eq!(class_of(&bob, "support-access").as_deref(), Some("badge ok"));
    app.expire_consent(BOB).await;
    let bob = admin.get(&format!("/admin/clients/{BOB}")).await;
    assert_eq!(class_of(&bob, "support-access").as_deref(), Some("badge unset"));
    assert!(bob.text_of("login-as-client-blocked").unwrap().contains("has not allowed"));
}

#[tokio::test]
async fn the_live_badge_shows_while_someone_is_in_the_portal_and_goes_after_return() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let mut sam = app.staff("superadmin@example.com").await;
    let record = format!("/admin/clients/{JANE}");
    assert!(!sam.get(&record).await.has("live-badge"));

    let start = admin.impersonate(JANE, &[("mode", "full"), ("reason", "Ticket 1 follow-up")]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let seen = sam.get(&record).await;
    let live = seen.text_of("live-badge").expect("the live badge while Alice is in Jane's portal");
    assert!(live.starts_with("Live: Alice Admin since ") && live.ends_with("(full access)"), "{live}");
    assert!(!sam.get(&format!("/admin/clients/{BOB}")).await.has("live-badge"), "only on Jane's record");

    admin.return_to_admin().await;
    assert!(!sam.get(&record).await.has("live-badge"), "gone after Return to Admin");

    // A session past its deadline that the sweep has not ended yet is not live.
    admin.impersonate(JANE, &[]).await;
    assert!(sam.get(&record).await.has("live-badge"));
    app.expire_impersonation(app.live_impersonation().await.unwrap().id).await;
    assert!(!sam.get(&record).await.has("live-badge"), "past its deadline");
}

#[tokio::test]
async fn login_as_client_comes_first_and_the_settings_below() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    let record = admin.get(&format!("/admin/clients/{JANE}")).await;
    let button = position_of(&record, "login-as-client");
    assert!(position_of(&record, "client-header") < button);
    for below in ["client-settings", "admin-consent-form", "stores-form", "modules-form"] {
        assert!(button < position_of(&record, below), "{below} is below the button");
    }
    // Alice may choose full access and Jane is in two stores, so mode, store and reason are
    // offered beside the button, closed: the button alone starts with the defaults.
    assert!(text_at(&record, "input#reason[required]").is_none(), "a reason is not required yet");
    assert!(record.has("login-as-client-options") && record.has("mode") && record.has("store") && record.has("reason"));
    assert!(record.body.contains("<details class=\"start-options\" id=\"login-as-client-options\"><summary>"));
    assert_eq!(text_at(&record, "#login-as-client-options > summary").as_deref(), Some("Mode, store and reason"));
    assert_eq!(admin.impersonate(JANE, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.live_impersonation().await.unwrap().mode, "read_only");
    admin.return_to_admin().await;

    // A required reason is asked in the open, not in a disclosure a person could close (a
    // required field in a closed one stops the form without showing why).
    app.set("impersonation.require_reason", "true").await;
    let record = admin.get(&format!("/admin/clients/{JANE}")).await;
    assert!(record.body.contains("<div class=\"start-options\" id=\"login-as-client-options\">"));
    assert!(!record.body.contains("<details"), "no disclosure");
    assert_eq!(text_at(&record, "label[for='reason']").as_deref(), Some("Reason (required)"));
    assert!(text_at(&record, "#login-as-client-options input#reason[required]").is_some(), "the field is required");
    // A refused start shows the record again with what was typed.
    let refused = admin.impersonate(JANE, &[("reason", "short")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("<div class=\"start-options\" id=\"login-as-client-options\">"));
    assert!(refused.body.contains("value=\"short\""));
    assert!(position_of(&refused, "login-as-client") < position_of(&refused, "client-settings"));

    // Blocked: the button is disabled with the reason beside it, and nothing is asked.
    let ivan = admin.get(&format!("/admin/clients/{IVAN}")).await;
    assert!(ivan.body.contains("id=\"login-as-client\" type=\"submit\" disabled"));
    assert!(ivan.text_of("login-as-client-blocked").unwrap().contains("disabled"));
    assert!(!ivan.has("login-as-client-options") && !ivan.has("reason"));
    assert!(position_of(&ivan, "login-as-client-blocked") < position_of(&ivan, "client-settings"));
}

#[tokio::test]
async fn staff_who_may_only_read_get_the_reason_alone_and_support_gets_no_actions() {
    let app = TestApp::spawn().await;
    let mut max = app.staff("manager@example.com").await;
    // Bob is in one store: only the optional reason is offered; the button starts read-only.
    let record = max.get(&format!("/admin/clients/{BOB}")).await;
    assert_eq!(text_at(&record, "#login-as-client-options > summary").as_deref(), Some("Reason"));
    assert!(!record.body.contains("value=\"full\"") && !record.has("store"), "nothing else to choose");
    assert_eq!(max.impersonate(BOB, &[]).await.status, StatusCode::SEE_OTHER);

    let mut sue = app.staff("support@example.com").await;
    let record = sue.get(&format!("/admin/clients/{JANE}")).await;
    assert!(record.has("client-header") && record.has("client-status") && record.has("support-access"));
    assert!(!record.has("client-actions") && !record.has("login-as-client"));
    assert!(record.has("client-settings"), "the settings section still lists what she may see");
}
