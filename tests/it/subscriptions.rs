//! Subscriptions: listing, cancelling at period end (by the client and through Login as Client),
//! resuming, and the refusals: read-only, hidden module, another client's ids, bad ids.

use crate::support::*;
use reqwest::StatusCode;

/// Jane's subscription that is not cancelling yet.
async fn janes_running(app: &TestApp) -> i64 {
    let all = app.subscriptions().await;
    all.iter().find(|s| s.client_id == JANE && s.cancel_at_period_end == 0).expect("a running subscription").id
}

async fn cancel_entries(app: &TestApp) -> i64 {
    app.activity_count_of("Cancelled a subscription at period end").await
}

#[tokio::test]
async fn client_lists_cancels_at_period_end_is_refused_twice_and_resumes() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let list = jane.get("/subscriptions").await;
    assert_eq!(list.status, StatusCode::OK);
    let table = list.text_of("subscriptions").unwrap();
    assert!(table.contains("Shared Hosting M"), "{table}");
    assert!(table.contains("9.99 USD / month"), "{table}");
    // The demo's second subscription is Jane's EUR care plan, already cancelling.
    assert!(table.contains("Website care plan") && table.contains("49.00 EUR / month"), "{table}");
    assert!(table.contains("Cancels on"), "{table}");

    let id = janes_running(&app).await;
    let before = jane.get(&format!("/subscriptions/{id}")).await;
    assert_eq!(before.text_of("subscription-status").as_deref(), Some("active"));
    assert!(before.has("next-charge") && before.has("cancel-subscription"));

    let p = jane.portal_post(&format!("/subscriptions/{id}/cancel"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let after = jane.get(&format!("/subscriptions/{id}")).await;
    assert_eq!(after.text_of("subscription-status").as_deref(), Some("active"), "active until the period ends");
    assert!(after.text_of("cancels-on").unwrap().starts_with("Cancels on 20"));
    assert!(after.has("resume-subscription"));
    let sub = app.subscription(id).await;
    assert_eq!((sub.cancel_at_period_end, sub.status.as_str()), (1, "active"));
    assert!(sub.cancelled_at.is_some(), "the cancellation time is kept");
    assert_eq!((sub.cancelled_by_staff_id, sub.cancel_impersonation_id), (None, None), "Jane cancelled herself");
    let target = format!("subscription #{id}");
    assert_eq!(
        app.activity_rows("Cancelled a subscription at period end")
            .await
            .iter()
            .filter(|r| r.group == "billing"
                && r.actor_kind == "client"
                && r.actor_client_id == Some(JANE)
                && r.target == target)
            .count(),
        1
    );

    // Twice: a clear message and nothing changed.
    let cancelled_at = sub.cancelled_at;
    let entries = app.activity_count().await;
    let again = jane.portal_post(&format!("/subscriptions/{id}/cancel"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already set to cancel on"), "{}", again.body);
    assert_eq!(app.subscription(id).await.cancelled_at, cancelled_at);
    assert_eq!(app.activity_count().await, entries);

    // Resume before the period ends.
    let r = jane.portal_post(&format!("/subscriptions/{id}/resume"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.subscription(id).await.cancel_at_period_end, 0);
    assert_eq!(app.activity_count_of("Resumed a subscription").await, 1);
    let twice = jane.portal_post(&format!("/subscriptions/{id}/resume"), &[]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.body.contains("nothing to resume"));

    // Once the period is over, a cancelling subscription reads as cancelled and cannot be resumed.
    app.end_subscription_period(id).await;
    let ended = jane.get(&format!("/subscriptions/{id}")).await;
    assert_eq!(ended.text_of("subscription-status").as_deref(), Some("cancelled"));
    assert!(!ended.has("resume-subscription") && !ended.has("cancel-subscription"));
    assert_eq!(jane.portal_post(&format!("/subscriptions/{id}/resume"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(jane.portal_post(&format!("/subscriptions/{id}/cancel"), &[]).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn full_mode_cancel_records_the_actor_on_the_row_in_activity_and_on_both_sides() {
    let app = TestApp::spawn().await;
    let alice = app.staff_id("admin@example.com").await;
    let id = janes_running(&app).await;
    let mut admin = app.staff("admin@example.com").await;
    let start = admin.impersonate(JANE, &[("mode", "full"), ("reason", "Client asked by phone")]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let imp = app.latest_impersonation().await.id;
    let page = admin.get(&format!("/subscriptions/{id}")).await;
    assert!(page.has("impersonation-banner"));
    let p = admin.portal_post(&format!("/subscriptions/{id}/cancel"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let sub = app.subscription(id).await;
    assert_eq!((sub.client_id, sub.cancel_at_period_end), (JANE, 1));
    assert_eq!((sub.cancelled_by_staff_id, sub.cancel_impersonation_id), (Some(alice), Some(imp)));
    assert_eq!(
        app.activity_rows("Cancelled a subscription at period end")
            .await
            .iter()
            .filter(|r| r.actor_kind == "staff"
                && r.actor_staff_id == Some(alice)
                && r.subject_client_id == Some(JANE)
                && r.impersonation_id == Some(imp))
            .count(),
        1
    );
    let shown = admin.get(&format!("/subscriptions/{id}")).await;
    assert!(shown.text_of("cancelled-by").unwrap().contains("(by Alice Admin on your behalf)"));

    admin.return_to_admin().await;
    let list = admin.get(&format!("/admin/clients/{JANE}/subscriptions")).await;
    assert_eq!(list.status, StatusCode::OK);
    let row = list.text_of(&format!("subscription-{id}")).unwrap();
    assert!(row.contains("Jane Smith (by Alice Admin via Login as Client)"), "{row}");
    assert!(list.body.contains("class=\"login-as-client\""), "quick Login as Client button");
    assert!(list.body.contains("value=\"/subscriptions\""), "the button opens /subscriptions");
    let log = admin.get("/admin/activity?group=billing").await;
    assert!(log.body.contains("Jane Smith (by Alice Admin via Login as Client)"));

    // Jane, on her own, sees who did it.
    let mut jane = app.client("jane@example.com").await;
    let own = jane.get(&format!("/subscriptions/{id}")).await;
    assert!(!own.has("impersonation-banner"));
    assert!(own.text_of("cancelled-by").unwrap().contains("by Alice Admin on your behalf"));
}

#[tokio::test]
async fn read_only_login_as_client_cannot_cancel() {
    let app = TestApp::spawn().await;
    let id = janes_running(&app).await;
    let mut manager = app.staff("manager@example.com").await;
    assert_eq!(manager.impersonate(JANE, &[("reason", "Looking at billing")]).await.status, StatusCode::SEE_OTHER);
    let entries = app.activity_count().await;
    let p = manager.portal_post(&format!("/subscriptions/{id}/cancel"), &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("read-only"), "{}", p.body);
    assert!(p.body.contains("impersonation-banner"));
    assert_eq!(app.subscription(id).await.cancel_at_period_end, 0);
    assert_eq!(app.activity_count().await, entries);
    // Reading is fine.
    assert_eq!(manager.get(&format!("/subscriptions/{id}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn hidden_module_other_clients_and_bad_ids_answer_4xx_and_change_nothing() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let id = janes_running(&app).await;
    let other = app.subscriptions().await.iter().find(|s| s.client_id != JANE).expect("another client's").id;
    assert_eq!(jane.get(&format!("/subscriptions/{other}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.portal_post(&format!("/subscriptions/{other}/cancel"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.portal_post(&format!("/subscriptions/{other}/resume"), &[]).await.status, StatusCode::NOT_FOUND);
    assert!(!jane.get("/subscriptions").await.body.contains(&format!("/subscriptions/{other}\"")));
    assert_eq!(app.subscription(other).await.cancel_at_period_end, 0);
    for bad in ["abc", "0", "-1", "99999999999999999999999", "1.5"] {
        let p = jane.get(&format!("/subscriptions/{bad}")).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(p.body.contains("is not a valid id"));
        assert_eq!(
            jane.portal_post(&format!("/subscriptions/{bad}/cancel"), &[]).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(jane.get("/subscriptions/9223372036854775807").await.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.get("/subscriptions?page=abc").await.status, StatusCode::BAD_REQUEST);
    // Without the CSRF token nothing happens.
    let forged = jane.post_raw(&format!("/subscriptions/{id}/cancel"), &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    app.hide_modules(JANE, "subscriptions").await;
    assert_eq!(jane.get("/subscriptions").await.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.get(&format!("/subscriptions/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(jane.portal_post(&format!("/subscriptions/{id}/cancel"), &[]).await.status, StatusCode::NOT_FOUND);
    assert!(!jane.get("/dashboard").await.body.contains("href=\"/subscriptions\""));
    assert_eq!(app.subscription(id).await.cancel_at_period_end, 0);
    assert_eq!(cancel_entries(&app).await, 0);
}

#[tokio::test]
async fn admin_subscriptions_page_needs_a_staff_session_and_a_known_client() {
    let app = TestApp::spawn().await;
    let mut anon = app.browser();
    let p = anon.get(&format!("/admin/clients/{JANE}/subscriptions")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let mut billing = app.staff("billing@example.com").await;
    let page = billing.get(&format!("/admin/clients/{JANE}/subscriptions")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text_of("subscriptions").unwrap().contains("Shared Hosting M"));
    assert!(!page.body.contains("class=\"login-as-client\""), "no button without clients.impersonate");
    assert_eq!(billing.get("/admin/clients/999999/subscriptions").await.status, StatusCode::NOT_FOUND);
    assert_eq!(billing.get("/admin/clients/x/subscriptions").await.status, StatusCode::BAD_REQUEST);
    // A client session does not open admin pages.
    let mut jane = app.client("jane@example.com").await;
    assert_eq!(jane.get(&format!("/admin/clients/{JANE}/subscriptions")).await.status, StatusCode::SEE_OTHER);
}
