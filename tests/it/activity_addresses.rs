//! Every activity entry has an address: sign-ins, Login as Client from start to end, staff and
//! client writes, the command line ("cli") and the server's own jobs ("server") alike.

use crate::support::*;
use behalf::domain::impersonation::LiveLimits;
use reqwest::StatusCode;

#[tokio::test]
async fn no_activity_entry_is_written_without_an_address() {
    // Starting with demo data records the demo staff accounts as added by the server.
    let app = TestApp::spawn().await;

    // Sign-ins: a refused one, staff and a client.
    let mut stranger = app.browser();
    let refused =
        stranger.post_from("/login", "/login", &[("email", "jane@example.com"), ("password", "wrong-password")]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    let mut sam = app.staff("superadmin@example.com").await;
    let mut admin = app.staff("admin@example.com").await;
    let mut jane = app.client("jane@example.com").await;

    // Login as Client, ended each way a person ends it: Return to Admin, the portal's sign-out,
    // a super admin from the log, and the client's End support access.
    assert_eq!(admin.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.return_to_admin().await.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.portal_post("/logout", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    let id = app.live_impersonation().await.unwrap().id;
    let end = sam.post_from("/admin/impersonations", &format!("/admin/impersonations/{id}/end"), &[]).await;
    assert_eq!(end.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(jane.portal_post("/account/end-support-access", &[]).await.status, StatusCode::SEE_OTHER);

    // A staff write from the admin side, and the client's own sign-out.
    let manager = app.staff_id("manager@example.com").await;
    let disable = sam.post_from("/admin/staff", &format!("/admin/staff/{manager}/disable"), &[]).await;
    assert_eq!(disable.status, StatusCode::SEE_OTHER);
    assert_eq!(jane.portal_post("/logout", &[]).await.status, StatusCode::SEE_OTHER);

    // The command line: a setting, and disabling a staff member in the middle of Login as Client.
    assert_eq!(admin.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    app.set("impersonation.default_mode", "full").await;
    app.disable_staff("admin@example.com").await;

    // The sweep of a Login as Client session past its deadline that no request noticed.
    assert_eq!(sam.impersonate(JANE, &[]).await.status, StatusCode::SEE_OTHER);
    app.expire_impersonation(app.live_impersonation().await.unwrap().id).await;
    let limits = LiveLimits::from_settings(&app.store.settings().await.unwrap());
    assert_eq!(app.store.sweep(limits).await.unwrap(), 1);

    let log = sam.get("/admin/activity").await;
    for address in ["<td>cli</td>", "<td>server</td>"] {
        assert!(log.body.contains(address), "{address} missing from the activity log");
    }
    let without: Vec<_> = app.activity().await.into_iter().filter(|e| e.ip.is_empty()).collect();
    assert!(without.is_empty(), "entries without an address: {without:?}");
}
