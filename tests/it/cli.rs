//! The `behalf` binary's admin subcommands, run as a user would.

use crate::support::*;

#[tokio::test]
async fn settings_are_validated_and_read_live() {
    let app = TestApp::spawn().await;
    let db = app.db_url.clone();
    let (ok, _, err) = behalf_cli(&db, &["settings", "set", "impersonation.max_duration", "-5m"], "");
    assert!(!ok);
    assert!(err.contains("not a duration"), "{err}");
    let (ok, _, err) = behalf_cli(&db, &["settings", "set", "impersonation.color", "red"], "");
    assert!(!ok && err.contains("unknown setting"), "{err}");
    let (ok, out, _) = behalf_cli(&db, &["settings", "get", "impersonation.default_mode"], "");
    assert!(ok && out.trim() == "read_only");
    let (ok, _, _) = behalf_cli(&db, &["settings", "set", "impersonation.default_mode", "full"], "");
    assert!(ok);
    // The running server reads it on the next request: admin now starts in full mode.
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[]).await;
    assert!(admin.get("/dashboard").await.text_of("impersonation-banner").unwrap().contains("full access"));
    // Switching the feature off from the CLI refuses the next start.
    assert!(behalf_cli(&db, &["settings", "set", "impersonation.enabled", "false"], "").0);
    assert_eq!(admin.impersonate(BOB, &[]).await.status, reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn staff_commands_and_audit_verify() {
    let app = TestApp::spawn().await;
    let db = app.db_url.clone();
    let (ok, _, err) =
        behalf_cli(&db, &["staff", "add", "new@example.com", "--name", "Nia New", "--role", "manager"], "short");
    assert!(!ok && err.contains("at least 10"), "{err}");
    let (ok, _, err) = behalf_cli(
        &db,
        &["staff", "add", "new@example.com", "--name", "Nia New", "--role", "wizard"],
        "long-enough-pw\n",
    );
    assert!(!ok && err.contains("unknown role"), "{err}");
    let (ok, out, err) = behalf_cli(
        &db,
        &["staff", "add", "new@example.com", "--name", "Nia New", "--role", "manager"],
        "long-enough-pw\n",
    );
    assert!(ok, "{out}{err}");
    let (ok, _, err) = behalf_cli(
        &db,
        &["staff", "add", "new@example.com", "--name", "Nia New", "--role", "manager"],
        "long-enough-pw\n",
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let mut b = app.browser();
    let p = b
        .post_from("/admin/login", "/admin/login", &[("email", "new@example.com"), ("password", "long-enough-pw")])
        .await;
    assert_eq!(p.status, reqwest::StatusCode::SEE_OTHER);

    // Role change takes effect on the next request: a manager turned support loses the button.
    assert!(b.get("/admin/clients/1").await.has("login-as-client"));
    assert!(behalf_cli(&db, &["staff", "set-role", "new@example.com", "support"], "").0);
    assert!(!b.get("/admin/clients/1").await.has("login-as-client"));
    assert!(behalf_cli(&db, &["staff", "disable", "new@example.com"], "").0);
    assert_eq!(b.get("/admin").await.location(), Some("/admin/login"));
    assert!(!behalf_cli(&db, &["staff", "disable", "nobody@example.com"], "").0);

    let (ok, out, _) = behalf_cli(&db, &["audit", "verify"], "");
    assert!(ok, "{out}");
    let (ok, out, _) = behalf_cli(&db, &["audit", "export", "--format", "jsonl"], "");
    assert!(ok && out.lines().count() as i64 == app.activity_count().await);
    // A changed row, and a deleted newest row, are both detected.
    let original = app.activity_row(2).await.detail;
    app.set_activity_detail(2, "edited").await;
    let (ok, _, err) = behalf_cli(&db, &["audit", "verify"], "");
    assert!(!ok && err.contains("entry 2"), "{err}");
    app.set_activity_detail(2, &original).await;
    assert!(behalf_cli(&db, &["audit", "verify"], "").0);
    app.delete_newest_activity().await;
    assert!(!behalf_cli(&db, &["audit", "verify"], "").0);
}
