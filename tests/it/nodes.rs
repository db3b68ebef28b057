//! Several `behalf` processes on one PostgreSQL schema: sessions, Login as Client, revocations,
//! the sign-in limit and the activity chain work across nodes with no stickiness, and the nodes
//! answer 503 (never 500, never a hang) through a PostgreSQL outage, then heal by themselves.
//!
//! These tests always use PostgreSQL (`postgres_url()`), in both halves of the suite; a plain
//! `cargo test` ignores them (the reason says so) and `.ci/run` runs them with `--include-ignored`.

use crate::support::{fresh_postgres_schema, pg_read_gate, pg_write_gate, Browser, Records, Table, JANE};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One `behalf serve` process; killed (and reaped) when dropped, also when a test panics.
struct Node {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Node {
    fn spawn(url: &str, dir: &Path, name: &str) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        // Nodes behind one name share the token key file and the public URL.
        let key = dir.join("token.key");
        let key = key.to_str().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_behalf"))
            .args(["--database-url", url, "serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--token-key", key, "--public-url", "http://portal.behalf.test"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Node { child, base: format!("http://127.0.0.1:{port}"), log }
    }

    /// Waits for `/healthz` to answer 200, failing with the node's log if it exits or is slow.
    async fn wait_up(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("node {} exited with {status}: {}", self.base, self.log_text());
            }
            if http.get(format!("{}/healthz", self.base)).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
                return;
            }
            assert!(Instant::now() < deadline, "node {} did not start: {}", self.base, self.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a crash or an OOM kill would.
    fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two nodes on one fresh schema, and pools of the test's own to look at the rows.
struct Cluster {
    url: String,
    a: Node,
    b: Node,
    db: Records,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts both nodes at once on an empty schema while this process loads the demo data, so
    /// three migrators race (the advisory lock lets one migrate and the others wait).
    async fn start() -> Cluster {
        let url = fresh_postgres_schema().await;
        let dir = tempfile::tempdir().unwrap();
        let mut a = Node::spawn(&url, dir.path(), "a");
        let mut b = Node::spawn(&url, dir.path(), "b");
        let mut config = behalf::config::Config::for_url(&url);
        config.demo = true;
        config.demo_generated_clients = 3;
        let store = tokio::time::timeout(Duration::from_secs(20), behalf::app::prepare(&config))
            .await
            .expect("demo data loads in time")
            .expect("demo data loads beside two starting nodes");
        a.wait_up(Duration::from_secs(20)).await;
        b.wait_up(Duration::from_secs(20)).await;
        let db = Records::new(store.db.read.clone(), store.db.write.clone());
        let cluster = Cluster { url, a, b, db, _dir: dir };
        let migrations =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap().count();
        assert_eq!(cluster.db.count(Table::Migrations).await, migrations as i64, "each migration applied once");
        assert_eq!(cluster.db.roles().await.iter().filter(|(_, name)| name == "admin").count(), 1);
        assert_eq!(cluster.db.count(Table::Staff).await, 5, "demo loaded once");
        cluster
    }

    /// `behalf audit verify` on the shared database; panics with its output unless it exits 0.
    async fn audit_verify(&self) {
        let url = self.url.clone();
        let out = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || {
                Command::new(env!("CARGO_BIN_EXE_behalf")).args(["--database-url", &url, "audit", "verify"]).output()
            }),
        )
        .await
        .expect("audit verify finishes in time")
        .unwrap()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "audit verify failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("chain intact"), "{stdout}");
    }

    /// Every id is used once and none is skipped.
    async fn assert_chain_has_no_gaps(&self) {
        self.db.assert_activity_ids_have_no_gaps().await;
    }
}

/// One person's cookies, usable on either node: the jar holds cookies by host, and both nodes
/// are 127.0.0.1 (cookies ignore the port), so exactly the same `Cookie` header goes to both.
struct Person {
    http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Person {
    fn new() -> Person {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            // Every request must answer quickly, during a database outage too.
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Person { http, jar }
    }

    /// This person's browser pointed at `node`.
    fn at(&self, node: &Node) -> Browser {
        Browser { base: node.base.clone(), http: self.http.clone(), jar: self.jar.clone(), last_csrf: None }
    }
}

/// Alice (admin) signed in, with a full-mode Login as Client session for Jane started on `node`.
async fn alice_as_jane(node: &Node) -> Person {
    let alice = Person::new();
    let mut b = alice.at(node);
    b.login_staff("admin@example.com").await;
    let p = b.impersonate(JANE, &[("mode", "full"), ("reason", "cross-node check")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), Some("/dashboard"));
    alice
}

/// Checks that `p` sends Alice back to the client record because her session ended for `reason`.
fn assert_returned(p: &crate::support::Page, reason: &str) {
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), Some(format!("/admin/clients/{JANE}?ended={reason}").as_str()));
    assert!(!p.has("impersonation-banner"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn login_as_client_started_on_one_node_continues_and_ends_on_the_other() {
    let _gate = pg_read_gate().await;
    let c = Cluster::start().await;
    let alice = alice_as_jane(&c.a).await;
    let (mut on_a, mut on_b) = (alice.at(&c.a), alice.at(&c.b));

    // B knows the session A started: the dashboard with the banner, then a reply in full mode.
    let dash = on_b.get("/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    let banner = dash.text_of("impersonation-banner").expect("banner on node B");
    assert!(banner.contains("Jane Smith") && banner.contains("Mode: full access"), "{banner}");
    let p = on_b.portal_post("/tickets/1/replies", &[("body", "Answered from node B")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let alice_id = c.db.staff_id("admin@example.com").await;
    let imp_id = c.db.live_impersonation().await.expect("Alice's Login as Client").id;
    let reply = c.db.ticket_replies().await.into_iter().find(|r| r.body == "Answered from node B");
    assert_eq!(reply.expect("the reply").actor_staff_id, Some(alice_id), "the reply records Alice beside Jane");
    assert_eq!(
        c.db.activity_rows("Replied to a ticket")
            .await
            .iter()
            .filter(|r| r.subject_client_id == Some(JANE)
                && r.actor_staff_id == Some(alice_id)
                && r.impersonation_id == Some(imp_id))
            .count(),
        1,
        "the activity entry records Alice and the session"
    );
    // And A shows it, attributed.
    let t = on_a.get("/tickets/1").await;
    assert!(t.body.contains("Answered from node B") && t.body.contains("Alice Admin"), "{}", t.body);

    // Return to Admin on B; A's very next request with the same cookie is no longer Jane's.
    let cookie = on_b.cookie("behalf_client").expect("impersonation cookie");
    let back = on_b.return_to_admin().await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(back.location(), Some("/admin/clients/1"));
    on_a.put_cookie("behalf_client", &cookie);
    let p = on_a.get("/dashboard").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "the ended session is refused on A");
    assert!(!p.has("impersonation-banner"));
    assert_eq!(c.db.impersonation(imp_id).await.end_reason.as_deref(), Some("returned"));
    // Alice's staff session is untouched on both nodes.
    assert_eq!(on_a.get("/admin").await.status, StatusCode::OK);
    assert_eq!(on_b.get("/admin").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn ending_revoking_and_disabling_on_one_node_apply_on_the_other_at_once() {
    let _gate = pg_read_gate().await;
    let c = Cluster::start().await;
    let sam = Person::new();
    let mut sam_b = sam.at(&c.b);
    sam_b.login_staff("superadmin@example.com").await;

    // Ended from the log on B: Alice's next request on A lands back on the client record.
    let alice = alice_as_jane(&c.a).await;
    let mut alice_a = alice.at(&c.a);
    assert!(alice_a.get("/dashboard").await.has("impersonation-banner"));
    let id = c.db.live_impersonation().await.expect("Alice's Login as Client").id;
    let p = sam_b.post_from("/admin/impersonations", &format!("/admin/impersonations/{id}/end"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_returned(&alice_a.get("/dashboard").await, "ended_by_staff");

    // Disabled on B: Max's read-only session ends on A, and his staff session with it.
    let max = Person::new();
    let mut max_a = max.at(&c.a);
    max_a.login_staff("manager@example.com").await;
    assert_eq!(max_a.impersonate(JANE, &[("mode", "read_only")]).await.status, StatusCode::SEE_OTHER);
    assert!(max_a.get("/dashboard").await.has("impersonation-banner"));
    let max_id = c.db.staff_id("manager@example.com").await;
    let p = sam_b.post_from("/admin/staff", &format!("/admin/staff/{max_id}/disable"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_returned(&max_a.get("/dashboard").await, "revoked");
    assert_eq!(max_a.get("/admin").await.location(), Some("/admin/login"));

    // clients.impersonate revoked from Alice's role on B: her live session ends on A, and A
    // refuses to start another.
    let alice = alice_as_jane(&c.a).await;
    let mut alice_a = alice.at(&c.a);
    assert!(alice_a.get("/dashboard").await.has("impersonation-banner"));
    let roles = sam_b.get("/admin/roles").await;
    let token = roles.csrf().unwrap();
    let admin_role = c.db.role_id("admin").await;
    let revoked = format!("{admin_role}:clients.impersonate");
    let mut form: Vec<(String, String)> = vec![("csrf_token".into(), token)];
    {
        let doc = scraper::Html::parse_document(&roles.body);
        let sel = scraper::Selector::parse("input[name=grant][checked]").unwrap();
        for input in doc.select(&sel) {
            let value = input.value().attr("value").unwrap().to_string();
            if value != revoked && input.value().attr("disabled").is_none() {
                form.push(("grant".into(), value));
            }
        }
    }
    assert!(form.len() > 10, "the matrix was read from the page");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = sam_b.post_raw("/admin/roles", &fields).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_returned(&alice_a.get("/dashboard").await, "revoked");
    let before = c.db.count(Table::Impersonations).await;
    let p = alice_a.impersonate(JANE, &[("mode", "full")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "A refuses a new session at once");
    assert_eq!(c.db.count(Table::Impersonations).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn a_settings_change_on_one_node_governs_the_next_start_on_the_other() {
    let _gate = pg_read_gate().await;
    let c = Cluster::start().await;
    let sam = Person::new();
    let mut sam_b = sam.at(&c.b);
    sam_b.login_staff("superadmin@example.com").await;
    let alice = Person::new();
    let mut alice_a = alice.at(&c.a);
    alice_a.login_staff("admin@example.com").await;

    // A start without a reason is fine on A while no reason is required.
    assert_eq!(alice_a.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(alice_a.return_to_admin().await.status, StatusCode::SEE_OTHER);

    // B requires a reason; A's very next start without one is refused, and nothing starts.
    let set = |require: &'static str| [("impersonation.require_reason", require), ("impersonation.enabled", "true")];
    let p = sam_b.post_from("/admin/settings", "/admin/settings", &set("true")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let before = c.db.count(Table::Impersonations).await;
    let refused = alice_a.impersonate(JANE, &[("mode", "full")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(c.db.count(Table::Impersonations).await, before);
    assert_eq!(
        alice_a.impersonate(JANE, &[("mode", "full"), ("reason", "ticket 7001 follow-up")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(alice_a.return_to_admin().await.status, StatusCode::SEE_OTHER);

    // And back: B drops the requirement, and A starts without a reason again at once.
    let p = sam_b.post_from("/admin/settings", "/admin/settings", &set("false")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(alice_a.impersonate(JANE, &[("mode", "full")]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn the_sign_in_limit_counts_failures_on_both_nodes() {
    let _gate = pg_read_gate().await;
    let c = Cluster::start().await;
    let someone = Person::new();
    let (mut on_a, mut on_b) = (someone.at(&c.a), someone.at(&c.b));
    let wrong = [("email", "jane@example.com"), ("password", "not-her-password")];
    for on_b_now in [false, false, false, true, true] {
        let b = if on_b_now { &mut on_b } else { &mut on_a };
        assert_eq!(b.post_from("/login", "/login", &wrong).await.status, StatusCode::UNAUTHORIZED);
    }
    let right = [("email", "jane@example.com"), ("password", "behalf-demo")];
    for b in [&mut on_a, &mut on_b] {
        let p = b.post_from("/login", "/login", &right).await;
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
        assert!(p.body.contains("Too many failed sign-ins"));
    }
    assert!(on_a.cookie("behalf_client").is_none());
    // Bob, from the same address, is not locked on either node.
    let bob = Person::new();
    bob.at(&c.b).login_client("bob@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn the_hash_chain_stays_valid_when_both_nodes_write_at_once() {
    let _gate = pg_read_gate().await;
    let c = Cluster::start().await;
    let alice = alice_as_jane(&c.a).await;
    let token = alice.at(&c.b).get("/dashboard").await.csrf().unwrap();
    let (replies, activity) =
        (c.db.count(Table::TicketReplies).await, c.db.activity_count_of("Replied to a ticket").await);
    let mut tasks = Vec::new();
    for (n, base) in [c.a.base.clone(), c.b.base.clone()].into_iter().enumerate() {
        for t in 0..4 {
            let (http, base, token) = (alice.http.clone(), base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    let body = format!("concurrent-{n}-{t}-{i}");
                    let r = http
                        .post(format!("{base}/tickets/1/replies"))
                        .form(&[("csrf_token", token.as_str()), ("body", body.as_str())])
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{body}: {}", r.text().await.unwrap_or_default());
                }
            }));
        }
    }
    tokio::time::timeout(Duration::from_secs(25), async {
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await
    .expect("200 replies finish in time");
    assert_eq!(c.db.count(Table::TicketReplies).await, replies + 200);
    assert_eq!(c.db.activity_count_of("Replied to a ticket").await, activity + 200);
    c.assert_chain_has_no_gaps().await;
    c.audit_verify().await;
}

/// One request of a load: the node, its status or transport error, and how long it took.
type Outcome = (String, Result<StatusCode, String>, Duration);

/// Fires replies (and reads) at every node in `bases` until `stop`, keeping the bodies that were
/// acknowledged (303) and every outcome: the status, or the transport error.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(person: &Person, token: &str, bases: &[&str], prefix: &str, stop_at_error: bool) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (n, base) in bases.iter().enumerate() {
            for t in 0..2 {
                let (http, base, token) = (person.http.clone(), base.to_string(), token.to_string());
                let (stop, acked, outcomes, prefix) =
                    (stop.clone(), acked.clone(), outcomes.clone(), prefix.to_string());
                tasks.push(tokio::spawn(async move {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let body = format!("{prefix}-{n}-{t}-{i}");
                        let started = Instant::now();
                        let r = if t == 0 {
                            http.post(format!("{base}/tickets/1/replies"))
                                .form(&[("csrf_token", token.as_str()), ("body", body.as_str())])
                                .send()
                                .await
                        } else {
                            http.get(format!("{base}/dashboard")).send().await
                        };
                        let outcome = r.map(|r| r.status()).map_err(|e| format!("{e:?}"));
                        if t == 0 && outcome.as_ref().is_ok_and(|s| *s == StatusCode::SEE_OTHER) {
                            acked.lock().unwrap().push(body);
                        }
                        let failed = outcome.is_err();
                        outcomes.lock().unwrap().push((base.clone(), outcome, started.elapsed()));
                        if failed && stop_at_error {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }));
            }
        }
        Load { stop, acked, outcomes, tasks }
    }

    async fn finish(self) -> (Vec<String>, Vec<Outcome>) {
        self.stop.store(true, Ordering::Relaxed);
        tokio::time::timeout(Duration::from_secs(15), async {
            for t in self.tasks {
                t.await.unwrap();
            }
        })
        .await
        .expect("the load stops");
        let acked = self.acked.lock().unwrap().clone();
        let outcomes = self.outcomes.lock().unwrap().clone();
        (acked, outcomes)
    }
}

/// Checks that every acknowledged reply is stored, with exactly one activity entry per stored
/// reply of this load and none without its reply.
async fn assert_acknowledged_stored(c: &Cluster, acked: &[String], prefix: &str, activity_before: i64) {
    let mine = format!("{prefix}-");
    let stored: std::collections::HashSet<String> =
        c.db.ticket_replies().await.into_iter().map(|r| r.body).filter(|b| b.starts_with(&mine)).collect();
    for body in acked {
        assert!(stored.contains(body), "acknowledged reply {body} was lost");
    }
    assert_eq!(
        c.db.activity_count_of("Replied to a ticket").await - activity_before,
        stored.len() as i64,
        "each stored reply has its activity entry, and no entry lacks its reply"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn a_node_killed_mid_write_loses_no_acknowledged_write() {
    let _gate = pg_read_gate().await;
    let mut c = Cluster::start().await;
    let alice = alice_as_jane(&c.a).await;
    let token = alice.at(&c.a).get("/dashboard").await.csrf().unwrap();
    let before = c.db.activity_count_of("Replied to a ticket").await;
    let load = Load::start(&alice, &token, &[&c.a.base, &c.b.base], "kill9", true);
    let on_b = |acked: &[String]| acked.iter().filter(|b| b.starts_with("kill9-1-")).count();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.a.kill_9();
    let b_at_kill = on_b(&load.acked.lock().unwrap());
    // B carries on, and its writes are not held up by the transactions A left behind.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (acked, outcomes) = load.finish().await;
    let on_a = acked.iter().filter(|b| b.starts_with("kill9-0-")).count();
    assert!(on_a > 5, "A acknowledged writes before the kill ({on_a})");
    assert!(on_b(&acked) > b_at_kill + 5, "B kept writing after the kill ({b_at_kill} -> {})", on_b(&acked));
    for (base, outcome, _) in &outcomes {
        if let Ok(s) = outcome {
            assert!(s.is_success() || s.is_redirection(), "{base} answered {s}");
        } else {
            assert_eq!(*base, c.a.base, "only the killed node fails: {outcome:?}");
        }
    }
    assert_eq!(alice.at(&c.b).get("/dashboard").await.status, StatusCode::OK);
    assert_acknowledged_stored(&c, &acked, "kill9", before).await;
    c.assert_chain_has_no_gaps().await;
    c.audit_verify().await;
}

/// The local PostgreSQL cluster to stop and start: `BEHALF_TEST_PG_CLUSTER` ("15 main"), or the
/// only version under /etc/postgresql with its `main` cluster.
fn pg_cluster() -> (String, String) {
    if let Ok(v) = std::env::var("BEHALF_TEST_PG_CLUSTER") {
        let mut parts = v.split_whitespace().map(str::to_string);
        if let (Some(version), Some(name)) = (parts.next(), parts.next()) {
            return (version, name);
        }
    }
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).max())
        .expect("no PostgreSQL cluster under /etc/postgresql: set BEHALF_TEST_PG_CLUSTER=\"VERSION NAME\"");
    (version, "main".into())
}

fn pg_ctlcluster(action: &str) -> std::process::Output {
    let (version, name) = pg_cluster();
    let mut cmd = Command::new("pg_ctlcluster");
    cmd.args([version.as_str(), name.as_str(), action]);
    if action == "stop" {
        cmd.args(["-m", "fast"]);
    }
    cmd.output().expect("pg_ctlcluster runs (the test needs to run as root or postgres)")
}

/// PostgreSQL stopped by this test; started again when dropped, also if the test panics.
struct PgStopped;

impl PgStopped {
    fn stop() -> PgStopped {
        let out = pg_ctlcluster("stop");
        assert!(out.status.success(), "pg_ctlcluster stop: {}", String::from_utf8_lossy(&out.stderr));
        PgStopped
    }
}

impl Drop for PgStopped {
    fn drop(&mut self) {
        let out = pg_ctlcluster("start");
        if !out.status.success() && !std::thread::panicking() {
            panic!("pg_ctlcluster start: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn a_postgresql_restart_gives_quick_503s_then_both_nodes_heal() {
    // Alone among the tests of this process that use PostgreSQL.
    let _gate = pg_write_gate().await;
    let c = Cluster::start().await;
    let alice = alice_as_jane(&c.a).await;
    let token = alice.at(&c.a).get("/dashboard").await.csrf().unwrap();
    let before = c.db.activity_count_of("Replied to a ticket").await;
    c.db.close().await;
    let quick = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let load = Load::start(&alice, &token, &[&c.a.base, &c.b.base], "restart", false);
    tokio::time::sleep(Duration::from_millis(800)).await;

    let stopped = tokio::task::spawn_blocking(PgStopped::stop).await.unwrap();
    let outage_began = Instant::now();
    // While it is down, both nodes say so quickly, on /healthz and on pages.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for node in [&c.a, &c.b] {
        let r = quick.get(format!("{}/healthz", node.base)).send().await.expect("healthz answers during the outage");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = quick.get(format!("{}/admin/login", node.base)).send().await.expect("a page answers");
        assert!(r.status() == StatusCode::OK || r.status() == StatusCode::SERVICE_UNAVAILABLE, "{}", r.status());
    }
    // Long enough for requests to run into the pool's acquire timeout.
    let hold = Duration::from_secs(4).saturating_sub(outage_began.elapsed());
    tokio::time::sleep(hold).await;
    let outage = outage_began.elapsed();
    tokio::task::spawn_blocking(move || drop(stopped)).await.unwrap();

    // Both nodes heal by themselves.
    let healed_by = Instant::now() + Duration::from_secs(30);
    for node in [&c.a, &c.b] {
        loop {
            let ok = alice
                .http
                .get(format!("{}/dashboard", node.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ok {
                break;
            }
            assert!(Instant::now() < healed_by, "{} did not recover within 30 s", node.base);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let r = quick.get(format!("{}/healthz", node.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (acked, outcomes) = load.finish().await;

    let slowest = outcomes.iter().map(|(_, _, took)| *took).max().unwrap_or_default();
    let count = |s: StatusCode| outcomes.iter().filter(|(_, o, _)| o.as_ref().is_ok_and(|x| *x == s)).count();
    eprintln!(
        "restart: outage {outage:?}, {} requests ({} x 503, {} x 303, {} x 200), slowest {slowest:?}, {} writes acknowledged",
        outcomes.len(),
        count(StatusCode::SERVICE_UNAVAILABLE),
        count(StatusCode::SEE_OTHER),
        count(StatusCode::OK),
        acked.len()
    );
    assert!(slowest < Duration::from_secs(5), "every request answered within 5 s (slowest {slowest:?})");
    for (base, outcome, took) in &outcomes {
        match outcome {
            Ok(s) => assert!(
                *s == StatusCode::OK || *s == StatusCode::SEE_OTHER || *s == StatusCode::SERVICE_UNAVAILABLE,
                "{base} answered {s} during the restart"
            ),
            Err(e) => panic!("{base}: a request failed or timed out after {took:?}: {e}"),
        }
    }
    for node in [&c.a, &c.b] {
        let unavailable = outcomes
            .iter()
            .filter(|(b, o, _)| *b == node.base && o.as_ref().is_ok_and(|s| *s == StatusCode::SERVICE_UNAVAILABLE))
            .count();
        assert!(unavailable > 0, "{} answered 503 during the {outage:?} outage", node.base);
    }
    assert!(acked.len() > 10, "the load ran ({} acknowledged)", acked.len());
    let c = Cluster { db: Records::connect(&c.url).await, ..c };
    assert_acknowledged_stored(&c, &acked, "restart", before).await;
    c.assert_chain_has_no_gaps().await;
    c.audit_verify().await;
}

/// Two nodes delivering the outbox at once each claim different messages: none is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn two_nodes_claiming_the_outbox_never_take_the_same_message() {
    let _gate = pg_read_gate().await;
    let url = fresh_postgres_schema().await;
    let node = |url: String| async move {
        let db = behalf::db::Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        behalf::store::Store::new(db)
    };
    let (a, b) = (node(url.clone()).await, node(url).await);
    let mut tx = a.begin().await.unwrap();
    for i in 0..200 {
        behalf::store::outbox::enqueue(&mut tx, &format!("c{i}@example.com"), "Hello", "Body").await.unwrap();
    }
    tx.commit().await.unwrap();
    // Both start together and pause between batches, as two mailers on their ticks would.
    // An empty claim means "nothing free right now", so each retries until all 200 are taken.
    let start = Arc::new(tokio::sync::Barrier::new(2));
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let drain = |store: behalf::store::Store| {
        let (start, taken) = (start.clone(), taken.clone());
        tokio::spawn(async move {
            start.wait().await;
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut got = Vec::new();
            while taken.load(Ordering::SeqCst) < 200 && Instant::now() < deadline {
                let batch = store.claim_mail(7, 60).await.unwrap();
                taken.fetch_add(batch.len(), Ordering::SeqCst);
                got.extend(batch.iter().map(|m| m.id));
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            got
        })
    };
    let (from_a, from_b) = (drain(a.clone()), drain(b));
    let (mut from_a, from_b) = (from_a.await.unwrap(), from_b.await.unwrap());
    assert!(!from_a.is_empty() && !from_b.is_empty(), "both nodes took part: {} / {}", from_a.len(), from_b.len());
    from_a.extend(&from_b);
    from_a.sort_unstable();
    let before = from_a.len();
    from_a.dedup();
    assert_eq!(from_a.len(), before, "a message was claimed twice");
    assert_eq!(from_a.len(), 200, "every message was claimed once");
    // Claimed messages come back only after the lease, or once a failure is recorded and its
    // next attempt is due.
    assert!(a.claim_mail(10, 60).await.unwrap().is_empty());
    a.mail_failed(from_a[1], "relay refused", behalf::domain::now() + 60).await.unwrap();
    a.mail_failed(from_a[0], "relay refused", behalf::domain::now()).await.unwrap();
    assert_eq!(a.claim_mail(10, 60).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![from_a[0]]);
}

/// `POST /oauth/token` on `node` with Alice's key for Jane.
async fn api_token(node: &Node, key: &str) -> String {
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        ("actor_token", key),
        ("actor_token_type", "urn:behalf:token-type:api-key"),
        ("subject_token", "1"),
        ("subject_token_type", "urn:behalf:token-type:client-id"),
        ("scope", "portal:write"),
    ];
    let r = reqwest::Client::new().post(format!("{}/oauth/token", node.base)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

async fn api_me(node: &Node, token: &str) -> StatusCode {
    reqwest::Client::new().get(format!("{}/api/v1/me", node.base)).bearer_auth(token).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 (or BEHALF_TEST_POSTGRES_URL): .ci/run starts it"]
async fn an_api_token_from_one_node_works_on_the_other_and_every_end_stops_it_on_both() {
    let _gate = pg_read_gate().await;
    let c = Cluster::start().await;
    let out = Command::new(env!("CARGO_BIN_EXE_behalf"))
        .args(["--database-url", &c.url, "staff", "api-key", "admin@example.com", "--name", "nodes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // Issued by A, used on B; revoked on B, refused on A at once.
    let t = api_token(&c.a, &key).await;
    assert_eq!(api_me(&c.b, &t).await, StatusCode::OK);
    let r =
        reqwest::Client::new().post(format!("{}/oauth/revoke", c.b.base)).form(&[("token", &t)]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(api_me(&c.a, &t).await, StatusCode::UNAUTHORIZED);
    assert_eq!(api_me(&c.b, &t).await, StatusCode::UNAUTHORIZED);

    // The client's End support access on A stops a token on B.
    let t = api_token(&c.a, &key).await;
    assert_eq!(api_me(&c.b, &t).await, StatusCode::OK);
    let jane = Person::new();
    let mut on_a = jane.at(&c.a);
    on_a.login_client("jane@example.com").await;
    on_a.post_from("/account", "/account/end-support-access", &[]).await;
    assert_eq!(api_me(&c.b, &t).await, StatusCode::UNAUTHORIZED);

    // Another staff member ends it on B: A refuses it.
    let t = api_token(&c.b, &key).await;
    let imp = c.db.live_impersonation().await.expect("the API session").id;
    let sam = Person::new();
    let mut sam_b = sam.at(&c.b);
    sam_b.login_staff("superadmin@example.com").await;
    sam_b.post_from("/admin/impersonations", &format!("/admin/impersonations/{imp}/end"), &[]).await;
    assert_eq!(api_me(&c.a, &t).await, StatusCode::UNAUTHORIZED);

    // Alice's permission is taken away: the token stops on both, and so does the key's exchange.
    let t = api_token(&c.a, &key).await;
    c.db.revoke_permission("admin", "clients.impersonate").await;
    assert_eq!(api_me(&c.b, &t).await, StatusCode::UNAUTHORIZED);
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        ("actor_token", key.as_str()),
        ("actor_token_type", "urn:behalf:token-type:api-key"),
        ("subject_token", "1"),
        ("subject_token_type", "urn:behalf:token-type:client-id"),
    ];
    let r = reqwest::Client::new().post(format!("{}/oauth/token", c.a.base)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    c.db.grant_permission("admin", "clients.impersonate").await;

    // Disabled on one node's command line: refused on both.
    let t = api_token(&c.b, &key).await;
    let out = Command::new(env!("CARGO_BIN_EXE_behalf"))
        .args(["--database-url", &c.url, "staff", "disable", "admin@example.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(api_me(&c.a, &t).await, StatusCode::UNAUTHORIZED);
    assert_eq!(api_me(&c.b, &t).await, StatusCode::UNAUTHORIZED);
    // Both nodes name the same issuer and serve the same key.
    let jwks = |n: &Node| {
        let url = format!("{}/.well-known/jwks.json", n.base);
        async move { reqwest::get(url).await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    assert_eq!(jwks(&c.a).await, jwks(&c.b).await);
    c.audit_verify().await;
}
