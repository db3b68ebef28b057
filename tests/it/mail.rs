//! Real mail: a `behalf` node delivers Login as Client notices to a real SMTP server (Python's
//! aiosmtpd) that requires STARTTLS or implicit TLS and AUTH, trusting a test CA made here with
//! the `openssl` CLI; failures stay queued and visible until sent exactly once; the password never
//! reaches the log.

use crate::support::*;
use reqwest::StatusCode;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const NEEDS: &str = "needs Python 3 with aiosmtpd: .ci/run installs it";
const USER: &str = "behalf-mailer";
const PASSWORD: &str = "Corr3ct-Horse-Battery-Staple-77";
const WRONG: &str = "Wr0ng-Horse-Battery-Staple-42";
const NOTICE: &str = "Alice Admin from our support team logged in to your account";

/// A test CA and a server certificate it signed for `127.0.0.1` and `localhost`.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn make() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        let commands = [
            format!("req -x509 {key} -keyout ca.key -out ca.pem -days 2 -subj /CN=BehalfTestCA -addext basicConstraints=critical,CA:TRUE"),
            format!("req {key} -keyout server.key -out server.csr -subj /CN=localhost"),
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext".into(),
        ];
        for args in commands {
            let out =
                Command::new("openssl").args(args.split(' ')).current_dir(d).output().expect("the openssl CLI runs");
            assert!(out.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Certs { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `tests/it/smtp_server.py` running in one mode; stopped when dropped.
struct SmtpServer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
    out: tempfile::TempDir,
}

impl SmtpServer {
    fn start(mode: &str, certs: &Certs) -> SmtpServer {
        let out = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/smtp_server.py"))
            .args(["--mode", mode, "--user", USER, "--password", PASSWORD])
            .arg("--cert")
            .arg(certs.path("server.pem"))
            .arg("--key")
            .arg(certs.path("server.key"))
            .arg("--out")
            .arg(out.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start ({NEEDS}); it said {line:?}"));
        SmtpServer { child, _stdin: stdin, port, out }
    }

    /// The messages it accepted, in order.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `behalf serve` process on the test app's database, logging at debug level to a file.
struct Node {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("behalf.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_behalf"))
            .args(["--database-url", db_url, "serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--files-dir", &dir.path().join("files").display().to_string()])
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut node = Node { child, log, _dir: dir };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("behalf exited with {status}: {}", node.log_text());
            }
            let up = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await;
            if up.is_ok_and(|r| r.status() == StatusCode::OK) {
                return node;
            }
            assert!(Instant::now() < deadline, "behalf did not start: {}", node.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the node and returns its whole log.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log_text()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that neither password, nor the base64 AUTH PLAIN string carrying it, is in `log`.
fn assert_no_password(log: &str) {
    use base64::Engine;
    for p in [PASSWORD, WRONG] {
        assert!(!log.contains(p), "the password is in the log:\n{log}");
        let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0{p}"));
        assert!(!log.contains(&plain), "the AUTH PLAIN string is in the log:\n{log}");
        let login = base64::engine::general_purpose::STANDARD.encode(p);
        assert!(!log.contains(&login), "the AUTH LOGIN password is in the log:\n{log}");
    }
    assert!(log.contains("delivering mail through SMTP"), "the log was captured:\n{log}");
}

/// Waits up to `secs` for `check`.
async fn eventually<F: std::future::Future<Output = bool>>(secs: u64, mut check: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn password_file(dir: &Path, password: &str) -> String {
    let file = dir.join("smtp-password");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    file.display().to_string()
}

/// Starts a Login as Client on Jane, which queues her notice; returns its outbox id.
async fn notice_for_jane(app: &TestApp) -> i64 {
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("reason", "Ticket 7: mail check")]).await;
    admin.return_to_admin().await;
    let queued = app.outbox().await.into_iter().find(|m| m.to_email == "jane@example.com");
    queued.expect("Jane's notice is queued").id
}

/// Whether the outbox message `id` has been sent.
async fn sent(app: &TestApp, id: i64) -> bool {
    app.outbox_message(id).await.sent_at.is_some()
}

async fn delivers_over(mode: &str, scheme: &str) {
    let certs = Certs::make();
    let server = SmtpServer::start(mode, &certs);
    let app = TestApp::spawn().await;
    let url = format!("{scheme}://127.0.0.1:{}", server.port);
    let ca = certs.path("ca.pem").display().to_string();
    let secret = password_file(certs.dir.path(), PASSWORD);
    let args = ["--smtp-url", &url, "--smtp-username", USER, "--smtp-password-file", &secret, "--smtp-ca-file", &ca];
    let node = Node::start(&app.db_url, &args, &[]).await;
    let id = notice_for_jane(&app).await;
    assert!(eventually(20, || sent(&app, id)).await, "not delivered: {}", node.log_text());
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains(NOTICE) && messages[0].contains("Ticket 7: mail check"), "{}", messages[0]);
    assert!(messages[0].contains("jane@example.com"));
    assert_eq!(app.outbox_message(id).await.attempts, 1);
    assert_no_password(&node.stop());
}

#[tokio::test]
#[ignore = "needs Python 3 with aiosmtpd, and openssl: .ci/run installs them"]
async fn a_notice_is_delivered_over_starttls_with_auth() {
    delivers_over("starttls", "smtp+starttls").await;
}

#[tokio::test]
#[ignore = "needs Python 3 with aiosmtpd, and openssl: .ci/run installs them"]
async fn a_notice_is_delivered_over_implicit_tls_with_auth() {
    delivers_over("smtps", "smtps").await;
}

#[tokio::test]
#[ignore = "needs Python 3 with aiosmtpd, and openssl: .ci/run installs them"]
async fn a_wrong_password_keeps_the_notice_queued_and_shown_until_it_is_sent_once() {
    let certs = Certs::make();
    let server = SmtpServer::start("starttls", &certs);
    let app = TestApp::spawn().await;
    let url = format!("smtp+starttls://localhost:{}", server.port);
    let ca = certs.path("ca.pem").display().to_string();
    // The wrong password comes from the environment, the right one later from a file.
    let args = ["--smtp-url", &url, "--smtp-username", USER, "--smtp-ca-file", &ca];
    let node = Node::start(&app.db_url, &args, &[("BEHALF_SMTP_PASSWORD", WRONG)]).await;
    let id = notice_for_jane(&app).await;
    let failed = || async {
        let m = app.outbox_message(id).await;
        m.attempts >= 1 && m.last_error.is_some()
    };
    assert!(eventually(20, failed).await, "no failure: {}", node.log_text());
    let now = behalf::domain::now();
    let m = app.outbox_message(id).await;
    let (unsent, attempts, next) = (m.sent_at.is_none(), m.attempts, m.next_attempt_at);
    assert!(unsent && attempts == 1, "kept, with its attempt");
    assert!((now + 20..=now + 40).contains(&next), "retried after about 30 s: {}", next - now);
    assert!(server.messages().is_empty());

    // It shows on /admin/outbox, to settings.manage only, with the error and never the body.
    let mut admin = app.staff("admin@example.com").await;
    let page = admin.get("/admin/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = page.text_of(&format!("outbox-{id}")).expect("the message is listed");
    assert!(row.contains("jane@example.com") && row.contains("Support accessed your account"), "{row}");
    assert!(row.contains("535") || row.to_lowercase().contains("auth"), "the last error: {row}");
    assert!(page.text_of("outbox-counts").unwrap().contains("1 not sent yet, 1 failing"));
    assert!(!page.body.contains("Ticket 7: mail check"), "the body is not shown");
    assert!(!page.body.contains(WRONG));
    assert!(admin.get("/admin/settings").await.has("outbox-link"));
    let mut manager = app.staff("manager@example.com").await;
    assert_eq!(manager.get("/admin/outbox").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        manager.post_from("/admin", &format!("/admin/outbox/{id}/retry"), &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admin.post_raw(&format!("/admin/outbox/{id}/retry"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.post_from("/admin/outbox", "/admin/outbox/999999/retry", &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.post_from("/admin/outbox", "/admin/outbox/x/retry", &[]).await.status, StatusCode::BAD_REQUEST);
    let wrong_log = node.stop();

    // Restarted with the right password, the node waits for the backoff...
    let secret = password_file(certs.dir.path(), PASSWORD);
    let args = [&args[..], &["--smtp-password-file", &secret]].concat();
    let node = Node::start(&app.db_url, &args, &[]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(server.messages().is_empty(), "not due yet");
    // ...until an admin presses Retry now, which is recorded.
    let retried = admin.post_from("/admin/outbox", &format!("/admin/outbox/{id}/retry"), &[]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    assert!(eventually(20, || sent(&app, id)).await, "not delivered: {}", node.log_text());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "delivered exactly once");
    assert!(messages[0].contains(NOTICE));
    assert_eq!(app.outbox_message(id).await.attempts, 2);
    let requests = app.activity_rows("Mail retry requested").await;
    assert_eq!(requests.iter().filter(|r| r.actor_staff_id.is_some()).count(), 1);
    let activity = admin.get("/admin/activity?group=settings").await.text_of("activity").unwrap();
    assert!(activity.contains("Alice Admin (staff)") && activity.contains(&format!("outbox #{id}")), "{activity}");
    assert!(admin.get("/admin/outbox").await.has("outbox-empty"));
    let again = admin.post_from("/admin/outbox", &format!("/admin/outbox/{id}/retry"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    assert_no_password(&wrong_log);
    assert_no_password(&node.stop());
    assert!(wrong_log.contains("sending mail failed"), "the failure is logged:\n{wrong_log}");
}

/// A metric's value in the Prometheus text of this process's recorder (the one every server of
/// the test process shares), read through the app's `/metrics`.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    value_of(&text, name)
}

fn value_of(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python 3 with aiosmtpd, and openssl: .ci/run installs them"]
async fn delivery_failures_and_sends_move_the_metrics() {
    let certs = Certs::make();
    let server = SmtpServer::start("smtps", &certs);
    let url = format!("smtps://127.0.0.1:{}", server.port);
    let with = |password: &str| {
        let (url, ca, password) = (url.clone(), certs.path("ca.pem"), password.to_string());
        move |c: &mut behalf::config::Config| {
            c.smtp_url = Some(url);
            c.smtp_username = Some(USER.into());
            c.smtp_password = Some(behalf::config::Secret::new(password));
            c.smtp_ca_file = Some(ca);
        }
    };
    let (failures, sent) = (metric_now("behalf_mail_failures_total").await, metric_now("behalf_mail_sent_total").await);
    let failing = TestApp::with_config(with(WRONG)).await;
    notice_for_jane(&failing).await;
    assert!(
        eventually(20, || async { metric(&failing, "behalf_mail_failures_total").await > failures }).await,
        "the failure counter moved"
    );
    // Other apps of this test process set the gauges too; this one sets them every round.
    assert!(eventually(20, || async { metric(&failing, "behalf_outbox_failing").await >= 1.0 }).await);
    assert!(eventually(20, || async { metric(&failing, "behalf_outbox_backlog").await >= 1.0 }).await);
    let working = TestApp::with_config(with(PASSWORD)).await;
    notice_for_jane(&working).await;
    assert!(
        eventually(20, || async { metric(&working, "behalf_mail_sent_total").await > sent }).await,
        "the sent counter moved"
    );
    assert_eq!(server.messages().len(), 1);
}

/// A counter's value before a test acts (0 when nothing recorded it yet).
async fn metric_now(name: &str) -> f64 {
    value_of(&behalf::web::ops::prometheus().render(), name)
}

/// Bad mail configuration stops `serve` at once with a clear message that never quotes a password.
#[tokio::test]
async fn bad_mail_configuration_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("b.db").display());
    let serve = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_behalf"))
            .args(["--database-url", &db, "serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = serve(
        &["--smtp-url", "smtp://mail.example.com:25", "--smtp-username", USER],
        &[("BEHALF_SMTP_PASSWORD", PASSWORD)],
    );
    assert!(!ok && err.contains("clear text") && !err.contains(PASSWORD), "{err}");
    let (ok, err) = serve(&["--smtp-url", &format!("smtps://{USER}:{PASSWORD}@mail.example.com")], &[]);
    assert!(!ok && err.contains("--smtp-username") && !err.contains(PASSWORD), "{err}");
    let (ok, err) = serve(&["--smtp-url", "smtps://mail.example.com", "--smtp-ca-file", "/nonexistent/ca.pem"], &[]);
    assert!(!ok && err.contains("cannot read the SMTP CA file"), "{err}");
    let (ok, err) = serve(&["--smtp-url", "smtp+ssl://mail.example.com"], &[]);
    assert!(!ok && err.contains("not supported"), "{err}");
    let (ok, err) = serve(&["--smtp-password", PASSWORD, "--smtp-password-file", "/x"], &[]);
    assert!(!ok && !err.contains(PASSWORD), "{err}");
    // Help shows where the password may come from, never its value.
    let (_, help) = {
        let out = Command::new(env!("CARGO_BIN_EXE_behalf"))
            .args(["serve", "--help"])
            .env("BEHALF_SMTP_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    assert!(help.contains("BEHALF_SMTP_PASSWORD") && !help.contains(PASSWORD), "{help}");
    assert!(!dir.path().join("b.db").exists(), "refused before touching the database");
}
