//! Pages as people use them in Login as Client: write controls are disabled where the server
//! would refuse the write, with a note saying why; and the client's own session sees when staff
//! are in their portal, with a way to end it.

use crate::support::*;
use reqwest::StatusCode;

const READ_ONLY: &str = "Read-only access: changes need full access";
const JANE_ONLY: &str = "Only Jane can change this";

/// Whether a form's action is one of the client's own (sensitive) actions.
fn sensitive(action: &str) -> bool {
    ["/account/password", "/account/email", "/account/consent", "/account/end-support-access", "/account/delete"]
        .contains(&action)
        || action.starts_with("/account/payment-methods")
}

/// Every portal page of Jane's that has write forms, with the ids it needs.
async fn jane_pages(app: &TestApp) -> Vec<String> {
    let task = app.tasks_of(JANE).await.into_iter().find(|t| t.status != "done").expect("an open task of Jane's").id;
    let subscription =
        app.subscriptions().await.into_iter().find(|s| s.client_id == JANE && s.status == "active").expect("one").id;
    vec![
        "/account".into(),
        "/account/payment-methods".into(),
        "/tickets".into(),
        format!("/tickets/{}", app.first_ticket_of(JANE).await),
        format!("/tasks/{task}"),
        "/files".into(),
        format!("/subscriptions/{subscription}"),
        "/shop".into(),
        "/cart".into(),
        format!("/invoices/{}", app.first_invoice_of(JANE, "unpaid").await),
    ]
}

/// Every write form on every page, as `(page, action, state)`.
async fn write_forms(b: &mut Browser, pages: &[String]) -> Vec<(String, String, FormState)> {
    let mut all = Vec::new();
    for path in pages {
        let page = b.get(path).await;
        let forms = page.write_forms();
        assert!(!forms.is_empty(), "{path} has write forms");
        all.extend(forms.into_iter().map(|(action, f)| (path.clone(), action, f)));
    }
    all
}

#[tokio::test]
async fn read_only_login_as_client_renders_every_write_control_disabled_and_still_refuses() {
    let app = TestApp::spawn().await;
    let pages = jane_pages(&app).await;
    let mut manager = app.staff("manager@example.com").await;
    manager.impersonate(JANE, &[]).await;
    let forms = write_forms(&mut manager, &pages).await;
    for (page, action, f) in &forms {
        assert!(f.disabled, "{page}: {action} is disabled");
        let note = if sensitive(action) { JANE_ONLY } else { READ_ONLY };
        assert_eq!(f.note.as_deref(), Some(note), "{page}: {action}");
    }
    for action in ["/account", "/account/password", "/tickets", "/checkout", "/files", "/account/delete"] {
        assert!(forms.iter().any(|(_, a, _)| a == action), "{action} is on a page");
    }
    let account = manager.get("/account").await;
    assert!(account.body.contains(READ_ONLY), "the note is in the page's words");
    // The page only tells the truth: the server refuses exactly as before.
    let replies = app.count(Table::TicketReplies).await;
    let ticket = app.first_ticket_of(JANE).await;
    let p = manager.portal_post(&format!("/tickets/{ticket}/replies"), &[("body", "should not land")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("read-only"));
    assert_eq!(
        manager.portal_post("/account", &[("name", "Hacked"), ("phone", "1")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(manager.portal_post("/account/delete", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count(Table::TicketReplies).await, replies);
    assert_eq!(app.client_row(JANE).await.name, "Jane Smith");
    assert_eq!(app.client_row(JANE).await.active, 1);
}

#[tokio::test]
async fn full_access_enables_ordinary_controls_and_keeps_the_clients_own_disabled() {
    let app = TestApp::spawn().await;
    let pages = jane_pages(&app).await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full")]).await;
    let forms = write_forms(&mut admin, &pages).await;
    for (page, action, f) in &forms {
        if sensitive(action) {
            assert!(f.disabled, "{page}: {action} is the client's own");
            assert_eq!(f.note.as_deref(), Some(JANE_ONLY), "{page}: {action}");
        } else {
            assert!(!f.disabled, "{page}: {action} is live in full access");
            assert_eq!(f.note, None, "{page}: {action}");
        }
    }
    assert!(forms.iter().any(|(_, a, f)| a == "/account" && !f.disabled));
    assert!(forms.iter().any(|(_, a, f)| a == "/account/email" && f.disabled));
    let p = admin.portal_post("/account/email", &[("email", "new@example.com")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(app.client_row(JANE).await.email, "jane@example.com");
}

#[tokio::test]
async fn the_clients_own_session_has_every_control_live() {
    let app = TestApp::spawn().await;
    let pages = jane_pages(&app).await;
    let mut jane = app.client("jane@example.com").await;
    for (page, action, f) in write_forms(&mut jane, &pages).await {
        assert!(!f.disabled, "{page}: {action}");
        assert_eq!(f.note, None, "{page}: {action}");
    }
}

#[tokio::test]
async fn the_client_sees_live_support_while_staff_are_in_their_portal() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let mut admin = app.staff("admin@example.com").await;
    assert!(!jane.get("/dashboard").await.has("live-support"), "nobody is in Jane's portal yet");

    admin.impersonate(JANE, &[]).await;
    for path in ["/dashboard", "/tickets", "/account"] {
        let page = jane.get(path).await;
        let notice = page.text_of("live-support").unwrap_or_else(|| panic!("{path} shows the notice"));
        assert!(notice.contains("Alice Admin from support is viewing your account now"), "{path}: {notice}");
        assert!(notice.contains("End support access"), "{notice}");
        assert!(!page.has("impersonation-banner"), "the client's own session has no banner");
    }
    let inside = admin.get("/dashboard").await;
    assert!(!inside.has("live-support"), "never inside the impersonation itself");

    admin.return_to_admin().await;
    assert!(!jane.get("/dashboard").await.has("live-support"), "gone after Return to Admin");
}

#[tokio::test]
async fn the_live_support_notice_ends_support_access() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full")]).await;
    let p = jane.post_from("/tickets", "/account/end-support-access", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(app.live_impersonations().await.is_empty());
    assert_eq!(app.last_end_reason().await.as_deref(), Some("client_ended"));
    assert!(!jane.get("/dashboard").await.has("live-support"));
}

#[tokio::test]
async fn an_idle_support_session_is_not_shown_as_viewing() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[]).await;
    assert!(jane.get("/dashboard").await.has("live-support"));
    let id = app.live_impersonation().await.expect("live").id;
    app.idle_impersonation(id, 16 * 60).await;
    assert!(!jane.get("/dashboard").await.has("live-support"), "idle past the timeout is not viewing");
}
