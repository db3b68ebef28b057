//! A write acknowledged to the browser survives a kill -9 of the server, together with its
//! activity entry, and no activity entry exists without its write.

use crate::support::{behalf_cli, Browser, Records};
use reqwest::StatusCode;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_replies_survive_kill_9_with_their_activity() {
    /// The server is stopped however the test ends, so a failed run leaves no server behind.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kill.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_behalf"))
            .args(["--database-url", &url, "serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status() == StatusCode::OK) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server did not start");
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let mut admin = Browser { base: base.clone(), http: http.clone(), jar, last_csrf: None };
    admin.login_staff("admin@example.com").await;
    assert_eq!(admin.impersonate(1, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    let token = admin.get("/dashboard").await.csrf().unwrap();

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for t in 0..4 {
        let (http, base, token, acked) = (http.clone(), base.clone(), token.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..100_000 {
                let body = format!("durable-{t}-{i}");
                let r = http
                    .post(format!("{base}/tickets/1/replies"))
                    .form(&[("csrf_token", token.as_str()), ("body", body.as_str())])
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::SEE_OTHER => acked.lock().unwrap().push(body),
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 10, "the load ran ({} acknowledged)", acked.len());

    let db = Records::connect(&url).await;
    let stored: Vec<String> =
        db.ticket_replies().await.into_iter().map(|r| r.body).filter(|b| b.starts_with("durable-")).collect();
    for body in &acked {
        assert!(stored.contains(body), "acknowledged reply {body} was lost");
    }
    let activity = db.activity_count_of("Replied to a ticket").await;
    assert_eq!(activity, stored.len() as i64, "every reply has exactly its activity row");
    let (ok, out, err) = behalf_cli(&url, &["audit", "verify"], "");
    assert!(ok && out.contains("chain intact"), "{out}{err}");
}

/// The chain stays whole when appends roll back, interleave between databases in one process
/// (the fast path's head hint is then stale) or race on one database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hash_chain_survives_rollbacks_and_interleaved_databases() {
    use behalf::store::activity::{append, ActivityActor, NewActivity};
    let (one, two) = (crate::support::TestApp::spawn().await, crate::support::TestApp::spawn().await);
    let entry = |action: &'static str| NewActivity {
        subject_client_id: None,
        actor: ActivityActor::System,
        impersonation_id: None,
        group: behalf::domain::activity::ActivityGroup::Settings,
        action,
        target: String::new(),
        detail: String::new(),
        ip: String::new(),
    };
    for round in 0..20 {
        for app in [&one, &two] {
            let mut tx = app.store.begin().await.unwrap();
            append(&mut tx, entry("kept")).await.unwrap();
            tx.commit().await.unwrap();
            if round % 3 == 0 {
                let mut tx = app.store.begin().await.unwrap();
                append(&mut tx, entry("rolled back")).await.unwrap();
                tx.rollback().await.unwrap();
            }
        }
    }
    let racing: Vec<_> = (0..16)
        .map(|_| {
            let store = one.store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                append(&mut tx, entry("raced")).await.unwrap();
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for r in racing {
        r.await.unwrap();
    }
    for app in [&one, &two] {
        let (ok, out, err) = app.cli(&["audit", "verify"]).await;
        assert!(ok && out.contains("chain intact"), "{out}{err}");
        assert_eq!(app.activity_count_of("rolled back").await, 0);
        app.assert_activity_ids_have_no_gaps().await;
    }
    assert_eq!(one.activity_count_of("raced").await, 16);
}
