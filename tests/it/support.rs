//! `TestApp` (a server on port 0 with demo data) and `Browser` (cookies, CSRF tokens from pages).

use behalf::app::Server;
use behalf::config::Config;
use behalf::store::Store;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use sqlx::Row;

/// Ids of the named demo clients (they are created first, in this order).
pub const JANE: i64 = 1;
pub const BOB: i64 = 2;
pub const IVAN: i64 = 3;
pub const RITA: i64 = 4;

/// The PostgreSQL database the suite uses: `BEHALF_TEST_POSTGRES_URL`, or the local server.
pub fn postgres_url() -> String {
    std::env::var("BEHALF_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether this run of the suite is its PostgreSQL half (`BEHALF_TEST_DB=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("BEHALF_TEST_DB").is_ok_and(|v| v == "postgres")
}

/// A fresh, empty schema in the test database, and the URL that makes it every connection's
/// search path: each test app gets its own, so tests never see each other's rows. PostgreSQL
/// must answer: the suite fails here, loudly, rather than skipping.
pub async fn fresh_postgres_schema() -> String {
    let base = postgres_url();
    let schema = format!("t_{}_{}", std::process::id(), rand::random::<u64>());
    let mut conn = None;
    for _ in 0..50 {
        match <sqlx::PgConnection as sqlx::Connection>::connect(&base).await {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    let mut conn = conn.unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not reachable at {base}: start it (pg_ctlcluster 15 main start; .ci/run does this) \
             or set BEHALF_TEST_POSTGRES_URL; these tests never skip"
        )
    });
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create the test schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// A running server with its own SQLite file (or its own PostgreSQL schema in the suite's
/// PostgreSQL half).
pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub db_url: String,
    /// Where this app keeps shared files (inside its temporary directory).
    pub files_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
    /// On PostgreSQL: keeps the PostgreSQL restart test of `nodes.rs` from running meanwhile.
    _pg_gate: Option<PgReadGuard>,
}

impl TestApp {
    /// Starts a server with the named demo accounts and `generated` extra clients.
    pub async fn with_clients(generated: usize) -> TestApp {
        Self::with_config(|c| c.demo_generated_clients = generated).await
    }

    /// Starts a server with demo data and a configuration adjusted by `adjust`.
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::build(on_postgres(), adjust).await
    }

    /// Starts a server on PostgreSQL whichever half of the suite runs (for tests of PostgreSQL
    /// itself; they carry an ignore reason naming it).
    pub async fn on_postgres_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::build(true, adjust).await
    }

    async fn build(postgres: bool, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let _pg_gate = if postgres { Some(pg_read_gate().await) } else { None };
        let db_url = if postgres {
            fresh_postgres_schema().await
        } else {
            format!("sqlite://{}", dir.path().join("behalf.db").display())
        };
        let mut config = Config::for_url(&db_url);
        let files_dir = dir.path().join("behalf-files");
        config.files_dir = Some(files_dir.clone());
        config.demo = true;
        config.demo_generated_clients = 3;
        adjust(&mut config);
        let server = Server::build(config).await.expect("server builds");
        let base = format!("http://{}", server.addr);
        let store = server.store.clone();
        tokio::spawn(server.run());
        TestApp { base, store, db_url, files_dir, _dir: dir, _pg_gate }
    }

    /// Starts a server with a few generated clients (fast).
    pub async fn spawn() -> TestApp {
        Self::with_clients(3).await
    }

    /// A fresh browser with no cookies.
    pub fn browser(&self) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_provider(jar.clone())
                .build()
                .unwrap(),
            jar,
            last_csrf: None,
        }
    }

    /// Runs a statement directly on the database (to move clocks or tamper, as an operator could).
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(&self.store.db.write).await.unwrap();
    }

    /// Reads one integer.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query(sql).fetch_one(&self.store.db.read).await.unwrap().try_get(0).unwrap()
    }

    /// Reads one optional text value.
    pub async fn text(&self, sql: &str) -> Option<String> {
        sqlx::query(sql).fetch_optional(&self.store.db.read).await.unwrap().and_then(|r| r.try_get(0).ok())
    }

    /// Sets a setting as an operator would: `behalf settings set KEY VALUE`.
    pub async fn set(&self, key: &str, value: &str) {
        let (ok, out, err) = self.cli(&["settings", "set", key, value]).await;
        assert!(ok, "behalf settings set {key} {value}: {out}{err}");
    }

    /// Disables a staff member as an operator would: `behalf staff disable EMAIL`.
    pub async fn disable_staff(&self, email: &str) {
        let (ok, out, err) = self.cli(&["staff", "disable", email]).await;
        assert!(ok, "behalf staff disable {email}: {out}{err}");
    }

    /// Runs the `behalf` binary on this app's database (see [`behalf_cli`]) off the test's
    /// runtime, so the server goes on answering, and finishing its transactions, meanwhile.
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let db = self.db_url.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            behalf_cli(&db, &args, "")
        })
        .await
        .unwrap()
    }

    /// A browser signed in as staff.
    pub async fn staff(&self, email: &str) -> Browser {
        let mut b = self.browser();
        b.login_staff(email).await;
        b
    }

    /// A browser signed in as a client.
    pub async fn client(&self, email: &str) -> Browser {
        let mut b = self.browser();
        b.login_client(email).await;
        b
    }

    /// Number of impersonation records.
    pub async fn impersonation_count(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM impersonations").await
    }

    /// Number of activity entries.
    pub async fn activity_count(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM activity").await
    }

    /// The end reason of the newest impersonation.
    pub async fn last_end_reason(&self) -> Option<String> {
        self.text("SELECT end_reason FROM impersonations ORDER BY id DESC LIMIT 1").await
    }
}

/// Runs the `behalf` binary on the database at `db` as an operator would, with `stdin` as its
/// standard input; returns whether it succeeded, its standard output and its standard error.
/// The audit signer's environment variables are removed so the caller's shell cannot change
/// what a test sees.
pub fn behalf_cli(db: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_behalf"))
        .arg("--database-url")
        .arg(db)
        .args(args)
        .env_remove("BEHALF_AUDIT_KEY")
        .env_remove("BEHALF_AUDIT_CHECKPOINTS")
        .env_remove("BEHALF_AUDIT_PUBLIC_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A minimal SMTP server on loopback that accepts every message and keeps it.
pub struct SmtpSink {
    pub url: String,
    pub messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpSink {
    /// Listens on a free port.
    pub async fn start() -> SmtpSink {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = messages.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 sink ESMTP\r\n").await.ok();
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(buf) = data.as_mut() {
                            if line == "." {
                                kept.lock().unwrap().push(std::mem::take(buf));
                                data = None;
                                write.write_all(b"250 queued\r\n").await.ok();
                            } else {
                                buf.push_str(&line);
                                buf.push('\n');
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250 sink\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                write.write_all(b"221 bye\r\n").await.ok();
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        write.write_all(reply).await.ok();
                    }
                });
            }
        });
        SmtpSink { url, messages }
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The redirect target, if any.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The first CSRF token in the page.
    pub fn csrf(&self) -> Option<String> {
        extract_csrf(&self.body)
    }

    /// A `Set-Cookie` value for `name`, if set.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }

    /// The text of the element with this id, with tags removed.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(&format!("#{id}")).ok()?;
        doc.select(&sel)
            .next()
            .map(|e| e.text().collect::<Vec<_>>().join("").split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// Whether an element with this id exists.
    pub fn has(&self, id: &str) -> bool {
        self.text_of(id).is_some()
    }
}

fn extract_csrf(body: &str) -> Option<String> {
    let i = body.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    Some(body[i..].split('"').next()?.to_string())
}

/// A browser: keeps cookies and the last CSRF token it saw.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    pub last_csrf: Option<String>,
}

impl Browser {
    /// The value of a cookie this browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// Puts a cookie into this browser (to replay an old token).
    pub fn put_cookie(&self, name: &str, value: &str) {
        let url: reqwest::Url = self.base.parse().unwrap();
        self.jar.add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// GET a path.
    pub async fn get(&mut self, path: &str) -> Page {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let page = to_page(r).await;
        if let Some(t) = page.csrf() {
            self.last_csrf = Some(t);
        }
        page
    }

    /// POST a form as-is.
    pub async fn post_raw(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self.http.post(format!("{}{path}", self.base)).form(form).send().await.unwrap();
        to_page(r).await
    }

    /// POST a form with the CSRF token read from `from` (a page of the same session).
    pub async fn post_from(&mut self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get(from).await.csrf().unwrap_or_default();
        let mut fields: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    /// Signs in at `/admin/login`.
    pub async fn login_staff(&mut self, email: &str) -> Page {
        let p = self.post_from("/admin/login", "/admin/login", &[("email", email), ("password", "behalf-demo")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "staff sign-in for {email}: {}", p.body);
        p
    }

    /// Signs in at `/login`.
    pub async fn login_client(&mut self, email: &str) -> Page {
        let p = self.post_from("/login", "/login", &[("email", email), ("password", "behalf-demo")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "client sign-in for {email}: {}", p.body);
        p
    }

    /// Presses Login as Client on the client record with extra fields.
    pub async fn impersonate(&mut self, client: i64, form: &[(&str, &str)]) -> Page {
        self.post_from(&format!("/admin/clients/{client}"), &format!("/admin/clients/{client}/impersonate"), form).await
    }

    /// Presses Return to Admin in the banner.
    pub async fn return_to_admin(&mut self) -> Page {
        self.post_from("/dashboard", "/impersonation/return", &[]).await
    }

    /// A portal POST with the token of the dashboard page.
    pub async fn portal_post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_from("/dashboard", path, form).await
    }
}

async fn to_page(r: reqwest::Response) -> Page {
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap_or_default();
    assert!(status.as_u16() < 500, "server error {status}: {body}");
    Page { status, headers, body }
}

/// Who uses PostgreSQL right now: any number of readers (tests that merely use it), or one
/// writer (the test that restarts it), so the restart disturbs no other test of this process.
struct PgGate {
    readers: usize,
    writer_waiting: usize,
    writing: bool,
}

static PG_GATE: std::sync::Mutex<PgGate> =
    std::sync::Mutex::new(PgGate { readers: 0, writer_waiting: 0, writing: false });

fn pg_gate() -> std::sync::MutexGuard<'static, PgGate> {
    PG_GATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A share of PostgreSQL held for a test's whole life (see [`pg_read_gate`]).
pub struct PgReadGuard(());

impl Drop for PgReadGuard {
    fn drop(&mut self) {
        pg_gate().readers -= 1;
    }
}

/// PostgreSQL held alone, for the restart test (see [`pg_write_gate`]).
pub struct PgWriteGuard(());

impl Drop for PgWriteGuard {
    fn drop(&mut self) {
        pg_gate().writing = false;
    }
}

/// Waits until the restart test is not running and returns a share of PostgreSQL.
///
/// A waiting writer holds new readers back so it is not starved, but only for a while: a test
/// that already holds a share and asks for a second one (two apps in one test) would otherwise
/// wait for a writer that waits for it.
pub async fn pg_read_gate() -> PgReadGuard {
    let patience = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        {
            let mut g = pg_gate();
            if !g.writing && (g.writer_waiting == 0 || std::time::Instant::now() > patience) {
                g.readers += 1;
                return PgReadGuard(());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until no other test uses PostgreSQL and holds it alone until the guard drops.
pub async fn pg_write_gate() -> PgWriteGuard {
    pg_gate().writer_waiting += 1;
    loop {
        {
            let mut g = pg_gate();
            if !g.writing && g.readers == 0 {
                g.writer_waiting -= 1;
                g.writing = true;
                return PgWriteGuard(());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
