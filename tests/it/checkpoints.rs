//! Signed audit checkpoints: keygen, `audit checkpoint`, `audit verify` against tampering the
//! hash chain alone cannot see, and the signer of `serve`, all through the real binary.

use crate::support::*;
use behalf::store::activity::{entry_hash, ChainEntry};
use std::path::Path;

fn behalf(db: &str, args: &[&str]) -> (bool, String, String) {
    behalf_cli(db, args, "")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn keygen(db: &str, out: &Path, name: &str) {
    let (ok, stdout, err) = behalf(db, &["audit", "keygen", "--out", s(out), "--name", name]);
    assert!(ok, "{stdout}{err}");
}

/// Adds `n` activity entries, as an operator changing a setting would.
async fn add_entries(app: &TestApp, n: usize) {
    for i in 0..n {
        app.set("impersonation.default_mode", if i % 2 == 0 { "full" } else { "read_only" }).await;
    }
}

/// Recomputes every hash from entry `from` on and moves the head: what an attacker with write
/// access to the database and this source code can do after editing rows.
async fn rehash_from(app: &TestApp, from: i64) {
    let log = app.activity().await;
    let mut prev = log.iter().find(|r| r.id == from - 1).map(|r| r.hash.clone()).unwrap_or_default();
    for r in log.into_iter().filter(|r| r.id >= from) {
        let e = ChainEntry {
            id: r.id,
            at: r.at,
            subject_client_id: r.subject_client_id,
            actor_kind: r.actor_kind,
            actor_staff_id: r.actor_staff_id,
            actor_client_id: r.actor_client_id,
            impersonation_id: r.impersonation_id,
            group: r.group,
            action: r.action,
            target: r.target,
            detail: r.detail,
            ip: r.ip,
            prev_hash: prev.clone(),
        };
        let hash = entry_hash(r.hash_version, &e).unwrap();
        app.set_activity_hashes(e.id, &prev, &hash).await;
        prev = hash;
    }
    app.set_audit_head_hash(&prev).await;
}

#[tokio::test]
async fn keys_and_every_column_of_an_entry() {
    let app = TestApp::spawn().await;
    let db = app.db_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    keygen(&db, &key, "ops");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let public = std::fs::read_to_string(dir.path().join("audit.key.pub")).unwrap();
    assert!(public.starts_with("ops+"), "{public}");
    let (ok, _, err) = behalf(&db, &["audit", "keygen", "--out", s(&key)]);
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("audit.key.pub")).unwrap(), public);

    // Bad and missing key files are refused with a reason.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "not a key\n").unwrap();
    let (ok, _, err) = behalf(&db, &["audit", "checkpoint", "--audit-key", s(&junk)]);
    assert!(!ok && err.contains("not a private key"), "{err}");
    let (ok, _, err) = behalf(&db, &["audit", "checkpoint", "--audit-key", s(&dir.path().join("missing"))]);
    assert!(!ok && err.contains("cannot read the audit key"), "{err}");
    let (ok, _, err) = behalf(&db, &["audit", "verify", "--public-key", s(&key)]);
    assert!(!ok && err.contains("private key"), "{err}");
    let (ok, _, err) = behalf(&db, &["audit", "verify", "--checkpoints", s(&dir.path().join("missing"))]);
    assert!(!ok && err.contains("cannot read the checkpoints file"), "{err}");

    // A client's own sign-in moved onto a staff member's name: every column is in the hash.
    app.client("jane@example.com").await;
    let id = app.activity().await.into_iter().rev().find(|r| r.actor_kind == "client").expect("Jane's sign-in").id;
    for tamper in [
        format!("UPDATE activity SET actor_staff_id = 1 WHERE id = {id}"),
        format!("UPDATE activity SET actor_kind = 'staff', actor_staff_id = 1, actor_client_id = NULL WHERE id = {id}"),
    ] {
        app.exec(&tamper).await;
        let (ok, _, err) = behalf(&db, &["audit", "verify"]);
        assert!(!ok && err.contains(&format!("entry {id} was changed")), "{tamper}: {err}");
        app.exec(&format!(
            "UPDATE activity SET actor_kind = 'client', actor_staff_id = NULL, actor_client_id = {JANE} WHERE id = {id}"
        ))
        .await;
        let (ok, out, err) = behalf(&db, &["audit", "verify"]);
        assert!(ok, "{out}{err}");
    }
}

#[tokio::test]
async fn checkpoints_catch_a_rehashed_log_a_cut_tail_and_another_key() {
    let app = TestApp::spawn().await;
    let db = app.db_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let (key, other, file) = (dir.path().join("k"), dir.path().join("other"), dir.path().join("checkpoints"));
    keygen(&db, &key, "behalf-audit");
    keygen(&db, &other, "intruder");
    let public = dir.path().join("k.pub");
    let verify_all = ["audit", "verify", "--public-key", s(&public), "--checkpoints", s(&file)];

    add_entries(&app, 4).await;
    let n = app.activity_count().await;
    let (ok, note, err) =
        behalf(&db, &["audit", "checkpoint", "--audit-key", s(&key), "--audit-checkpoints", s(&file)]);
    assert!(ok, "{err}");
    assert!(note.starts_with(&format!("behalf activity log\n{n}\n")), "{note}");
    assert!(note.contains("\n\n\u{2014} behalf-audit "), "{note}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{note}\n"));
    let (ok, out, err) = behalf(&db, &verify_all);
    assert!(ok && out.contains("2 checkpoints hold") && out.contains(&format!("covering {n} entries")), "{out}{err}");
    // Without the public key the heads are still compared, with a warning.
    let (ok, _, err) = behalf(&db, &["audit", "verify"]);
    assert!(ok && err.contains("not checked"), "{err}");

    // Rewritten and fully re-hashed inside the database, head included: the chain holds, the
    // checkpoint does not.
    let original = app.activity_row(2).await.detail;
    app.set_activity_detail(2, "nothing happened").await;
    rehash_from(&app, 2).await;
    let (ok, _, err) = behalf(&db, &["audit", "verify"]);
    assert!(!ok && err.contains("checkpoint #1 in the database") && err.contains("was rewritten"), "{err}");
    let (ok, _, err) = behalf(&db, &verify_all);
    assert!(!ok && err.contains("was rewritten"), "{err}");
    // Nor will the key sign the rewritten log.
    let (ok, _, err) = behalf(&db, &["audit", "checkpoint", "--audit-key", s(&key)]);
    assert!(!ok && err.contains("rewritten") && err.contains("not signing"), "{err}");
    // Checkpoints spoilt or deleted in the database too: the shipped file still knows.
    app.spoil_checkpoints().await;
    let (ok, _, err) = behalf(&db, &["audit", "verify"]);
    assert!(!ok && err.contains("malformed"), "{err}");
    app.delete_checkpoints().await;
    assert!(behalf(&db, &["audit", "verify"]).0);
    let (ok, _, err) = behalf(&db, &verify_all);
    assert!(!ok && err.contains(&format!("line 1 of {}", file.display())) && err.contains("was rewritten"), "{err}");
    // With the database's checkpoints gone, a signer that keeps the file still will not bless
    // the rewritten log from scratch.
    let (ok, _, err) = behalf(&db, &["audit", "checkpoint", "--audit-key", s(&key), "--audit-checkpoints", s(&file)]);
    assert!(!ok && err.contains("rewritten") && err.contains("not signing"), "{err}");
    assert_eq!(app.count(Table::AuditCheckpoints).await, 0);
    app.set_activity_detail(2, &original).await;
    rehash_from(&app, 2).await;
    let (ok, out, err) = behalf(&db, &verify_all);
    assert!(ok && out.contains("1 checkpoints hold"), "{out}{err}");

    // A checkpoint signed by another key fails, in the database or in a file.
    let foreign = dir.path().join("foreign");
    let (ok, _, err) =
        behalf(&db, &["audit", "checkpoint", "--audit-key", s(&other), "--audit-checkpoints", s(&foreign)]);
    assert!(ok, "{err}");
    let (ok, _, err) = behalf(&db, &verify_all);
    assert!(!ok && err.contains("not signed by key behalf-audit+") && err.contains("intruder"), "{err}");
    app.delete_checkpoints().await;
    assert!(behalf(&db, &verify_all).0);
    let (ok, _, err) = behalf(&db, &["audit", "verify", "--public-key", s(&public), "--checkpoints", s(&foreign)]);
    assert!(!ok && err.contains("not signed by key behalf-audit+"), "{err}");
    // An altered size under a real signature fails too.
    let text = std::fs::read_to_string(&file).unwrap();
    let forged = dir.path().join("forged");
    std::fs::write(&forged, text.replacen(&format!("\n{n}\n"), &format!("\n{}\n", n - 1), 1)).unwrap();
    let (ok, _, err) = behalf(&db, &["audit", "verify", "--public-key", s(&public), "--checkpoints", s(&forged)]);
    assert!(!ok && err.contains("does not verify"), "{err}");

    // A tail cut before the last checkpoint, head moved back with it: the chain holds, the
    // checkpoint does not.
    add_entries(&app, 3).await;
    let (ok, _, err) = behalf(&db, &["audit", "checkpoint", "--audit-key", s(&key), "--audit-checkpoints", s(&file)]);
    assert!(ok, "{err}");
    let size = app.activity_count().await;
    assert!(behalf(&db, &verify_all).0);
    let keep = size - 2;
    app.cut_activity_after(keep).await;
    let (ok, _, err) = behalf(&db, &["audit", "verify"]);
    assert!(!ok && err.contains(&format!("signed {size} entries but the database holds only {keep}")), "{err}");
    let (ok, _, err) = behalf(&db, &["audit", "checkpoint", "--audit-key", s(&key)]);
    assert!(!ok && err.contains("not signing"), "{err}");
}

/// SQLite only: it copies the database file, as a restore from an old backup would.
#[tokio::test]
async fn a_database_rolled_back_to_an_old_copy_fails_against_the_shipped_file() {
    if on_postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    let db = app.db_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let (key, file) = (dir.path().join("k"), dir.path().join("checkpoints"));
    keygen(&db, &key, "behalf-audit");
    let public = dir.path().join("k.pub");
    let sign = ["audit", "checkpoint", "--audit-key", s(&key), "--audit-checkpoints", s(&file)];
    assert!(behalf(&db, &sign).0);
    let old = dir.path().join("old.db");
    app.exec(&format!("VACUUM INTO '{}'", old.display())).await;
    add_entries(&app, 3).await;
    assert!(behalf(&db, &sign).0);
    let size = app.activity_count().await;

    // The old copy, restored: its chain and its own checkpoints hold; the shipped file does not.
    let old_db = format!("sqlite://{}", old.display());
    let (ok, out, err) = behalf(&old_db, &["audit", "verify", "--public-key", s(&public)]);
    assert!(ok && out.contains("1 checkpoints hold"), "{out}{err}");
    let (ok, _, err) = behalf(&old_db, &["audit", "verify", "--public-key", s(&public), "--checkpoints", s(&file)]);
    assert!(!ok && err.contains(&format!("signed {size} entries but the database holds only")), "{err}");
    assert!(err.contains("rolled back"), "{err}");
}

#[tokio::test]
async fn serve_signs_a_checkpoint_every_n_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (key, file) = (dir.path().join("k"), dir.path().join("checkpoints"));
    let scratch = format!("sqlite://{}", dir.path().join("scratch.db").display());
    keygen(&scratch, &key, "behalf-audit");

    // A bad key stops the server before it serves.
    let mut bad = behalf::config::Config::for_url(&scratch);
    bad.audit = Some(behalf::config::SignerConfig {
        key_file: dir.path().join("missing"),
        checkpoints_file: None,
        origin: "behalf activity log".into(),
        every_entries: 3,
        every_seconds: 3600,
    });
    let err = behalf::app::Server::build(bad).await.err().expect("a missing key is refused");
    assert!(format!("{err:#}").contains("cannot read the audit key"), "{err:#}");

    let signer = behalf::config::SignerConfig {
        key_file: key.clone(),
        checkpoints_file: Some(file.clone()),
        origin: "behalf activity log".into(),
        every_entries: 3,
        every_seconds: 3600,
    };
    let app = TestApp::with_config(|c| c.audit = Some(signer)).await;
    let checkpoints = || app.count(Table::AuditCheckpoints);
    let wait_for = |n: i64| async move {
        for _ in 0..100 {
            if checkpoints().await >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no checkpoint {n} within 10 s");
    };
    // The log the demo data wrote is signed at start.
    wait_for(1).await;
    let first = app.checkpoint_sizes().await.into_iter().max().expect("a checkpoint");
    assert_eq!(first, app.activity_count().await);
    // Fewer than N entries and long before the interval: nothing new.
    add_entries(&app, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(checkpoints().await, 1);
    // The third entry makes N.
    add_entries(&app, 1).await;
    wait_for(2).await;
    assert_eq!(app.checkpoint_sizes().await.into_iter().max(), Some(first + 3));
    // The file is appended after the checkpoint's row commits: give it the same time.
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.matches("\u{2014} behalf-audit ").count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(text.matches("\u{2014} behalf-audit ").count(), 2, "{text}");
    let public = dir.path().join("k.pub");
    let (ok, out, err) =
        behalf(&app.db_url, &["audit", "verify", "--public-key", s(&public), "--checkpoints", s(&file)]);
    assert!(ok && out.contains("4 checkpoints hold"), "{out}{err}");
}
