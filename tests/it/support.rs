//! `TestApp` (a server on port 0 with demo data), `Browser` (cookies, CSRF tokens from pages),
//! `Records` (what the tests ask of the database, and the SQL for it, in one place) and
//! `behalf_cli` (the binary as an operator runs it).

use behalf::app::Server;
use behalf::config::Config;
use behalf::store::Store;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

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
/// PostgreSQL half). It dereferences to its [`Records`], so `app.staff_id(…)`,
/// `app.latest_impersonation()` and the like read its database.
pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub db_url: String,
    /// What the tests ask of this app's rows (see [`Records`]).
    pub records: Records,
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
        config.token_key = Some(dir.path().join("token.key"));
        config.demo = true;
        config.demo_generated_clients = 3;
        adjust(&mut config);
        let server = Server::build(config).await.expect("server builds");
        let base = format!("http://{}", server.addr);
        let store = server.store.clone();
        let records = Records::new(store.db.read.clone(), store.db.write.clone());
        tokio::spawn(server.run());
        TestApp { base, store, db_url, records, files_dir, _dir: dir, _pg_gate }
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
}

impl std::ops::Deref for TestApp {
    type Target = Records;

    fn deref(&self) -> &Records {
        &self.records
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

/// What the tests ask of a Behalf database, each question written once, in SQL that runs on
/// SQLite and on PostgreSQL alike, and the few things an operator (or an attacker with database
/// access) does to the rows directly: moving clocks, editing data no page edits, tampering.
///
/// Reads answer with plain rows ([`ActivityRow`], [`OrderRow`], …) so a test states what it
/// expects of them in Rust; every read panics, failing the test, when the database does.
pub struct Records {
    read: AnyPool,
    write: AnyPool,
}

/// A table counted whole by [`Records::count`].
#[derive(Clone, Copy, Debug)]
pub enum Table {
    Activity,
    AuditCheckpoints,
    Clients,
    Files,
    Impersonations,
    Invoices,
    LoginFailures,
    Migrations,
    Orders,
    Outbox,
    PaymentMethods,
    Payments,
    Sessions,
    Settings,
    Staff,
    StaffRecoveryCodes,
    TaskComments,
    Tasks,
    TicketReplies,
    Tickets,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Activity => "activity",
            Table::AuditCheckpoints => "audit_checkpoints",
            Table::Clients => "clients",
            Table::Files => "files",
            Table::Impersonations => "impersonations",
            Table::Invoices => "invoices",
            Table::LoginFailures => "login_failures",
            Table::Migrations => "behalf_migrations",
            Table::Orders => "orders",
            Table::Outbox => "outbox",
            Table::PaymentMethods => "payment_methods",
            Table::Payments => "payments",
            Table::Sessions => "sessions",
            Table::Settings => "settings",
            Table::Staff => "staff",
            Table::StaffRecoveryCodes => "staff_recovery_codes",
            Table::TaskComments => "task_comments",
            Table::Tasks => "tasks",
            Table::TicketReplies => "ticket_replies",
            Table::Tickets => "tickets",
        }
    }
}

/// A value bound to a query.
enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

/// A row type read by [`Records::select`]: its table, the columns it reads and how.
trait Record: Sized {
    const FROM: &'static str;
    const COLUMNS: &'static str;
    fn read(r: &AnyRow) -> Self;
}

/// One entry of the activity log: "the activity row of this write".
#[derive(Clone, Debug)]
pub struct ActivityRow {
    pub id: i64,
    pub at: i64,
    pub action: String,
    /// `action_group`.
    pub group: String,
    /// `staff`, `client` or `system`.
    pub actor_kind: String,
    pub actor_staff_id: Option<i64>,
    pub actor_client_id: Option<i64>,
    /// The client the entry is about.
    pub subject_client_id: Option<i64>,
    pub impersonation_id: Option<i64>,
    pub target: String,
    pub detail: String,
    pub ip: String,
    pub hash_version: i64,
    pub hash: String,
}

impl Record for ActivityRow {
    const FROM: &'static str = "activity";
    const COLUMNS: &'static str = "id, at, action, action_group, actor_kind, actor_staff_id, actor_client_id, \
        subject_client_id, impersonation_id, target, detail, ip, hash_version, hash";
    fn read(r: &AnyRow) -> Self {
        ActivityRow {
            id: r.get("id"),
            at: r.get("at"),
            action: r.get("action"),
            group: r.get("action_group"),
            actor_kind: r.get("actor_kind"),
            actor_staff_id: r.get("actor_staff_id"),
            actor_client_id: r.get("actor_client_id"),
            subject_client_id: r.get("subject_client_id"),
            impersonation_id: r.get("impersonation_id"),
            target: r.get("target"),
            detail: r.get("detail"),
            ip: r.get("ip"),
            hash_version: r.get("hash_version"),
            hash: r.get("hash"),
        }
    }
}

/// One Login as Client session as recorded.
#[derive(Clone, Debug)]
pub struct ImpersonationRow {
    pub id: i64,
    pub store_id: Option<i64>,
    pub reason: String,
    pub mode: String,
    pub ip: String,
    pub end_reason: Option<String>,
}

impl Record for ImpersonationRow {
    const FROM: &'static str = "impersonations";
    const COLUMNS: &'static str = "id, store_id, reason, mode, ip, end_reason";
    fn read(r: &AnyRow) -> Self {
        ImpersonationRow {
            id: r.get("id"),
            store_id: r.get("store_id"),
            reason: r.get("reason"),
            mode: r.get("mode"),
            ip: r.get("ip"),
            end_reason: r.get("end_reason"),
        }
    }
}

/// A staff member with the name of their role.
#[derive(Clone, Debug)]
pub struct StaffRow {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub active: i64,
    pub totp_secret: Option<String>,
}

impl Record for StaffRow {
    const FROM: &'static str = "staff s JOIN roles r ON r.id = s.role_id";
    const COLUMNS: &'static str = "s.id AS id, s.email AS email, r.name AS role, s.active AS active, \
        s.totp_secret AS totp_secret";
    fn read(r: &AnyRow) -> Self {
        StaffRow {
            id: r.get("id"),
            email: r.get("email"),
            role: r.get("role"),
            active: r.get("active"),
            totp_secret: r.get("totp_secret"),
        }
    }
}

/// A client account.
#[derive(Clone, Debug)]
pub struct ClientRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub active: i64,
    /// `unset`, `allowed` or `refused`.
    pub consent: String,
    /// The portal modules hidden from the client, comma-separated.
    pub hidden_modules: String,
}

impl Record for ClientRow {
    const FROM: &'static str = "clients";
    const COLUMNS: &'static str = "id, email, name, password_hash, active, consent, hidden_modules";
    fn read(r: &AnyRow) -> Self {
        ClientRow {
            id: r.get("id"),
            email: r.get("email"),
            name: r.get("name"),
            password_hash: r.get("password_hash"),
            active: r.get("active"),
            consent: r.get("consent"),
            hidden_modules: r.get("hidden_modules"),
        }
    }
}

/// A reply on a ticket.
#[derive(Clone, Debug)]
pub struct TicketReply {
    pub actor_staff_id: Option<i64>,
    pub impersonation_id: Option<i64>,
    pub body: String,
}

impl Record for TicketReply {
    const FROM: &'static str = "ticket_replies";
    const COLUMNS: &'static str = "actor_staff_id, impersonation_id, body";
    fn read(r: &AnyRow) -> Self {
        TicketReply {
            actor_staff_id: r.get("actor_staff_id"),
            impersonation_id: r.get("impersonation_id"),
            body: r.get("body"),
        }
    }
}

/// An order with its notes and who placed it.
#[derive(Clone, Debug)]
pub struct OrderRow {
    pub id: i64,
    pub client_id: i64,
    pub number: String,
    pub status: String,
    pub currency: String,
    pub total_cents: i64,
    pub store_id: Option<i64>,
    pub invoice_id: Option<i64>,
    pub client_note: String,
    pub internal_note: String,
    pub actor_staff_id: Option<i64>,
    pub impersonation_id: Option<i64>,
    pub idempotency_key: Option<String>,
}

impl Record for OrderRow {
    const FROM: &'static str = "orders";
    const COLUMNS: &'static str = "id, client_id, number, status, currency, total_cents, store_id, invoice_id, \
        client_note, internal_note, actor_staff_id, impersonation_id, idempotency_key";
    fn read(r: &AnyRow) -> Self {
        OrderRow {
            id: r.get("id"),
            client_id: r.get("client_id"),
            number: r.get("number"),
            status: r.get("status"),
            currency: r.get("currency"),
            total_cents: r.get("total_cents"),
            store_id: r.get("store_id"),
            invoice_id: r.get("invoice_id"),
            client_note: r.get("client_note"),
            internal_note: r.get("internal_note"),
            actor_staff_id: r.get("actor_staff_id"),
            impersonation_id: r.get("impersonation_id"),
            idempotency_key: r.get("idempotency_key"),
        }
    }
}

/// A line of an order.
#[derive(Clone, Debug)]
pub struct OrderLine {
    pub product_id: Option<i64>,
}

impl Record for OrderLine {
    const FROM: &'static str = "order_lines";
    const COLUMNS: &'static str = "product_id";
    fn read(r: &AnyRow) -> Self {
        OrderLine { product_id: r.get("product_id") }
    }
}

/// An invoice.
#[derive(Clone, Debug)]
pub struct InvoiceRow {
    pub id: i64,
    pub status: String,
    pub total_cents: i64,
    pub store_id: Option<i64>,
    pub paid_at: Option<i64>,
}

impl Record for InvoiceRow {
    const FROM: &'static str = "invoices";
    const COLUMNS: &'static str = "id, status, total_cents, store_id, paid_at";
    fn read(r: &AnyRow) -> Self {
        InvoiceRow {
            id: r.get("id"),
            status: r.get("status"),
            total_cents: r.get("total_cents"),
            store_id: r.get("store_id"),
            paid_at: r.get("paid_at"),
        }
    }
}

/// One charge attempt.
#[derive(Clone, Debug)]
pub struct PaymentRow {
    pub client_id: i64,
    pub provider: String,
    pub status: String,
    pub actor_staff_id: Option<i64>,
    pub impersonation_id: Option<i64>,
}

impl Record for PaymentRow {
    const FROM: &'static str = "payments";
    const COLUMNS: &'static str = "client_id, provider, status, actor_staff_id, impersonation_id";
    fn read(r: &AnyRow) -> Self {
        PaymentRow {
            client_id: r.get("client_id"),
            provider: r.get("provider"),
            status: r.get("status"),
            actor_staff_id: r.get("actor_staff_id"),
            impersonation_id: r.get("impersonation_id"),
        }
    }
}

/// A saved payment method.
#[derive(Clone, Debug)]
pub struct PaymentMethodRow {
    pub id: i64,
    pub client_id: i64,
    pub label: String,
    pub last4: String,
}

impl Record for PaymentMethodRow {
    const FROM: &'static str = "payment_methods";
    const COLUMNS: &'static str = "id, client_id, label, last4";
    fn read(r: &AnyRow) -> Self {
        PaymentMethodRow {
            id: r.get("id"),
            client_id: r.get("client_id"),
            label: r.get("label"),
            last4: r.get("last4"),
        }
    }
}

/// A line in a client's cart.
#[derive(Clone, Debug, PartialEq)]
pub struct CartItem {
    pub product_id: i64,
    pub quantity: i64,
}

impl Record for CartItem {
    const FROM: &'static str = "cart_items";
    const COLUMNS: &'static str = "product_id, quantity";
    fn read(r: &AnyRow) -> Self {
        CartItem { product_id: r.get("product_id"), quantity: r.get("quantity") }
    }
}

/// A subscription and how it is being cancelled.
#[derive(Clone, Debug)]
pub struct SubscriptionRow {
    pub id: i64,
    pub client_id: i64,
    pub status: String,
    pub cancel_at_period_end: i64,
    pub cancelled_at: Option<i64>,
    pub cancelled_by_staff_id: Option<i64>,
    pub cancel_impersonation_id: Option<i64>,
}

impl Record for SubscriptionRow {
    const FROM: &'static str = "subscriptions";
    const COLUMNS: &'static str =
        "id, client_id, status, cancel_at_period_end, cancelled_at, cancelled_by_staff_id, cancel_impersonation_id";
    fn read(r: &AnyRow) -> Self {
        SubscriptionRow {
            id: r.get("id"),
            client_id: r.get("client_id"),
            status: r.get("status"),
            cancel_at_period_end: r.get("cancel_at_period_end"),
            cancelled_at: r.get("cancelled_at"),
            cancelled_by_staff_id: r.get("cancelled_by_staff_id"),
            cancel_impersonation_id: r.get("cancel_impersonation_id"),
        }
    }
}

/// A shared file's row (the bytes are on disk under `storage_key`).
#[derive(Clone, Debug)]
pub struct FileRow {
    pub id: i64,
    pub client_id: i64,
    /// `to_client` or `from_client`.
    pub direction: String,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub uploaded_by_staff_id: Option<i64>,
    pub actor_staff_id: Option<i64>,
    pub impersonation_id: Option<i64>,
}

impl Record for FileRow {
    const FROM: &'static str = "files";
    const COLUMNS: &'static str = "id, client_id, direction, name, content_type, size_bytes, sha256, storage_key, \
        uploaded_by_staff_id, actor_staff_id, impersonation_id";
    fn read(r: &AnyRow) -> Self {
        FileRow {
            id: r.get("id"),
            client_id: r.get("client_id"),
            direction: r.get("direction"),
            name: r.get("name"),
            content_type: r.get("content_type"),
            size_bytes: r.get("size_bytes"),
            sha256: r.get("sha256"),
            storage_key: r.get("storage_key"),
            uploaded_by_staff_id: r.get("uploaded_by_staff_id"),
            actor_staff_id: r.get("actor_staff_id"),
            impersonation_id: r.get("impersonation_id"),
        }
    }
}

/// A task and how it was completed.
#[derive(Clone, Debug)]
pub struct TaskRow {
    pub id: i64,
    pub client_id: i64,
    /// `open`, `in_progress` or `done`.
    pub status: String,
    pub client_can_complete: i64,
    pub due_at: Option<i64>,
    pub created_by_staff_id: Option<i64>,
    pub completed_at: Option<i64>,
    /// `client` or `staff`.
    pub completed_by_kind: Option<String>,
    pub completed_by_staff_id: Option<i64>,
    pub completed_impersonation_id: Option<i64>,
}

impl Record for TaskRow {
    const FROM: &'static str = "tasks";
    const COLUMNS: &'static str = "id, client_id, status, client_can_complete, due_at, created_by_staff_id, \
        completed_at, completed_by_kind, completed_by_staff_id, completed_impersonation_id";
    fn read(r: &AnyRow) -> Self {
        TaskRow {
            id: r.get("id"),
            client_id: r.get("client_id"),
            status: r.get("status"),
            client_can_complete: r.get("client_can_complete"),
            due_at: r.get("due_at"),
            created_by_staff_id: r.get("created_by_staff_id"),
            completed_at: r.get("completed_at"),
            completed_by_kind: r.get("completed_by_kind"),
            completed_by_staff_id: r.get("completed_by_staff_id"),
            completed_impersonation_id: r.get("completed_impersonation_id"),
        }
    }
}

/// A comment on a task.
#[derive(Clone, Debug)]
pub struct TaskComment {
    /// `client` (also when staff wrote it as the client) or `staff`.
    pub author_kind: String,
    pub actor_staff_id: Option<i64>,
    pub impersonation_id: Option<i64>,
    pub body: String,
}

impl Record for TaskComment {
    const FROM: &'static str = "task_comments";
    const COLUMNS: &'static str = "author_kind, actor_staff_id, impersonation_id, body";
    fn read(r: &AnyRow) -> Self {
        TaskComment {
            author_kind: r.get("author_kind"),
            actor_staff_id: r.get("actor_staff_id"),
            impersonation_id: r.get("impersonation_id"),
            body: r.get("body"),
        }
    }
}

/// A queued e-mail.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub to_email: String,
    pub sent_at: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
}

impl Record for OutboxRow {
    const FROM: &'static str = "outbox";
    const COLUMNS: &'static str = "id, to_email, sent_at, attempts, last_error, next_attempt_at";
    fn read(r: &AnyRow) -> Self {
        OutboxRow {
            id: r.get("id"),
            to_email: r.get("to_email"),
            sent_at: r.get("sent_at"),
            attempts: r.get("attempts"),
            last_error: r.get("last_error"),
            next_attempt_at: r.get("next_attempt_at"),
        }
    }
}

/// A failed sign-in attempt, counted by the sign-in limit.
#[derive(Clone, Debug)]
pub struct LoginFailure {
    pub ip: String,
}

impl Record for LoginFailure {
    const FROM: &'static str = "login_failures";
    const COLUMNS: &'static str = "ip";
    fn read(r: &AnyRow) -> Self {
        LoginFailure { ip: r.get("ip") }
    }
}

impl Records {
    /// Reads and writes through these pools (the server's own, or a test's).
    pub fn new(read: AnyPool, write: AnyPool) -> Records {
        Records { read, write }
    }

    /// Connects to the database at `url`, as a node of Behalf would.
    pub async fn connect(url: &str) -> Records {
        let db = behalf::db::Db::connect(url).await.unwrap();
        Records::new(db.read, db.write)
    }

    // --- The one place SQL is run -------------------------------------------------------------

    /// `sql` with `$1`… bound to `args`.
    fn query<'q>(sql: &'q str, args: &[Arg<'q>]) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        args.iter().fold(sqlx::query(sql), |q, a| match a {
            Arg::Int(i) => q.bind(*i),
            Arg::Text(t) => q.bind(*t),
        })
    }

    /// Every row a query answers, read from the read pool.
    async fn fetch(&self, sql: &str, args: &[Arg<'_>]) -> Vec<AnyRow> {
        Self::query(sql, args).fetch_all(&self.read).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Rows of `T` matching `filter` (SQL after the table name: `WHERE …`, with `$1`… bound to
    /// `args`), oldest first.
    async fn select<T: Record>(&self, filter: &str, args: &[Arg<'_>]) -> Vec<T> {
        let sql = format!("SELECT {} FROM {} {filter}", T::COLUMNS, T::FROM);
        self.fetch(&sql, args).await.iter().map(T::read).collect()
    }

    /// The one row of `T` matching `filter`; panics unless there is exactly one.
    async fn one<T: Record>(&self, what: &str, filter: &str, args: &[Arg<'_>]) -> T {
        let mut rows = self.select::<T>(filter, args).await;
        assert_eq!(rows.len(), 1, "expected exactly one {what}");
        rows.remove(0)
    }

    /// One integer (a COUNT, a MAX or a cast SUM; PostgreSQL needs the cast for SUM).
    async fn scalar(&self, sql: &str, args: &[Arg<'_>]) -> i64 {
        let rows = self.fetch(sql, args).await;
        let row = rows.first().unwrap_or_else(|| panic!("{sql}: no row"));
        row.try_get(0).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs a statement with arguments on the write pool.
    async fn run(&self, sql: &str, args: &[Arg<'_>]) {
        Self::query(sql, args).execute(&self.write).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Closes both pools (before the database goes away under a test).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// The integer a flag column holds for one row, as stored (for the tests of how the store
    /// decodes flags).
    pub async fn stored_flag(&self, table: &str, column: &str, id: i64) -> i64 {
        self.scalar(&format!("SELECT {column} FROM {table} WHERE id = $1"), &[Arg::Int(id)]).await
    }

    /// The smallest id in `table`.
    pub async fn min_id(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT MIN(id) FROM {table}"), &[]).await
    }

    /// Runs a statement directly on the database, as an operator or an attacker with database
    /// access could (to move clocks or tamper); the common ones have named helpers below.
    pub async fn exec(&self, sql: &str) {
        self.run(sql, &[]).await;
    }

    // --- Counts -------------------------------------------------------------------------------

    /// How many rows `table` holds.
    pub async fn count(&self, table: Table) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {}", table.name()), &[]).await
    }

    /// Number of impersonation records.
    pub async fn impersonation_count(&self) -> i64 {
        self.count(Table::Impersonations).await
    }

    // --- People -------------------------------------------------------------------------------

    /// Every staff member, with the name of their role.
    pub async fn staff_members(&self) -> Vec<StaffRow> {
        self.select("ORDER BY s.id", &[]).await
    }

    /// The id of the staff member with this e-mail address.
    pub async fn staff_id(&self, email: &str) -> i64 {
        self.one::<StaffRow>(&format!("staff member {email}"), "WHERE s.email = $1", &[Arg::Text(email)]).await.id
    }

    /// The staff member with this id.
    pub async fn staff_member(&self, id: i64) -> StaffRow {
        self.one(&format!("staff member #{id}"), "WHERE s.id = $1", &[Arg::Int(id)]).await
    }

    /// The id of the role with this name.
    pub async fn role_id(&self, name: &str) -> i64 {
        self.scalar("SELECT id FROM roles WHERE name = $1", &[Arg::Text(name)]).await
    }

    /// Every role: id and name.
    pub async fn roles(&self) -> Vec<(i64, String)> {
        let rows = self.fetch("SELECT id, name FROM roles ORDER BY id", &[]).await;
        rows.iter().map(|r| (r.get("id"), r.get("name"))).collect()
    }

    /// The permissions granted to a role.
    pub async fn role_permissions(&self, role_id: i64) -> Vec<String> {
        let sql = "SELECT permission FROM role_permissions WHERE role_id = $1 ORDER BY permission";
        self.fetch(sql, &[Arg::Int(role_id)]).await.iter().map(|r| r.get("permission")).collect()
    }

    /// Takes a permission from a role, as an operator editing the database would.
    pub async fn revoke_permission(&self, role: &str, permission: &str) {
        self.run(
            "DELETE FROM role_permissions WHERE permission = $1 AND role_id = (SELECT id FROM roles WHERE name = $2)",
            &[Arg::Text(permission), Arg::Text(role)],
        )
        .await;
    }

    /// Gives a permission to a role, as an operator editing the database would.
    pub async fn grant_permission(&self, role: &str, permission: &str) {
        self.run(
            "INSERT INTO role_permissions (role_id, permission) SELECT id, $1 FROM roles WHERE name = $2",
            &[Arg::Text(permission), Arg::Text(role)],
        )
        .await;
    }

    /// The stored hashes of every staff recovery code.
    pub async fn recovery_code_hashes(&self) -> Vec<String> {
        let rows = self.fetch("SELECT code_hash FROM staff_recovery_codes ORDER BY id", &[]).await;
        rows.iter().map(|r| r.get("code_hash")).collect()
    }

    /// Every client account.
    pub async fn clients(&self) -> Vec<ClientRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The client account with this id.
    pub async fn client_row(&self, id: i64) -> ClientRow {
        self.one(&format!("client #{id}"), "WHERE id = $1", &[Arg::Int(id)]).await
    }

    /// Sets a client's consent directly, as an operator editing the database would.
    pub async fn set_consent(&self, client: i64, consent: &str) {
        self.run("UPDATE clients SET consent = $1 WHERE id = $2", &[Arg::Text(consent), Arg::Int(client)]).await;
    }

    /// Moves the end of a client's consent grant into the past.
    pub async fn expire_consent(&self, client: i64) {
        self.run("UPDATE clients SET consent_until = 1 WHERE id = $1", &[Arg::Int(client)]).await;
    }

    /// Hides portal modules from a client (`modules` comma-separated, as stored), directly.
    pub async fn hide_modules(&self, client: i64, modules: &str) {
        self.run("UPDATE clients SET hidden_modules = $1 WHERE id = $2", &[Arg::Text(modules), Arg::Int(client)]).await;
    }

    /// The stores a client may shop in.
    pub async fn client_stores(&self, client: i64) -> Vec<i64> {
        let sql = "SELECT store_id FROM client_stores WHERE client_id = $1 ORDER BY store_id";
        self.fetch(sql, &[Arg::Int(client)]).await.iter().map(|r| r.get("store_id")).collect()
    }

    /// The id of the store with this name.
    pub async fn store_id(&self, name: &str) -> i64 {
        self.scalar("SELECT id FROM stores WHERE name = $1", &[Arg::Text(name)]).await
    }

    // --- Login as Client ----------------------------------------------------------------------

    /// Every impersonation, oldest first.
    pub async fn impersonations(&self) -> Vec<ImpersonationRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The impersonation with this id.
    pub async fn impersonation(&self, id: i64) -> ImpersonationRow {
        self.one(&format!("impersonation #{id}"), "WHERE id = $1", &[Arg::Int(id)]).await
    }

    /// The newest impersonation; panics if there is none.
    pub async fn latest_impersonation(&self) -> ImpersonationRow {
        self.impersonations().await.pop().expect("an impersonation was recorded")
    }

    /// The impersonations that have not ended.
    pub async fn live_impersonations(&self) -> Vec<ImpersonationRow> {
        self.select("WHERE ended_at IS NULL ORDER BY id", &[]).await
    }

    /// The one impersonation that has not ended, if any; panics if several are live.
    pub async fn live_impersonation(&self) -> Option<ImpersonationRow> {
        let mut live = self.live_impersonations().await;
        assert!(live.len() <= 1, "more than one live impersonation: {live:?}");
        live.pop()
    }

    /// The end reason of the newest impersonation.
    pub async fn last_end_reason(&self) -> Option<String> {
        self.impersonations().await.pop().and_then(|i| i.end_reason)
    }

    /// Moves an impersonation's start `seconds` into the past.
    pub async fn age_impersonation(&self, id: i64, seconds: i64) {
        self.run(
            "UPDATE impersonations SET started_at = started_at - $1 WHERE id = $2",
            &[Arg::Int(seconds), Arg::Int(id)],
        )
        .await;
    }

    /// Sets when an impersonation started (Unix seconds).
    pub async fn set_impersonation_start(&self, id: i64, at: i64) {
        self.run("UPDATE impersonations SET started_at = $1 WHERE id = $2", &[Arg::Int(at), Arg::Int(id)]).await;
    }

    /// Pretends an impersonation was last seen `seconds` earlier than it was.
    pub async fn idle_impersonation(&self, id: i64, seconds: i64) {
        self.run(
            "UPDATE impersonations SET last_seen_at = last_seen_at - $1 WHERE id = $2",
            &[Arg::Int(seconds), Arg::Int(id)],
        )
        .await;
    }

    /// Moves an impersonation's hard end into the past while its session stays valid, as if its
    /// maximum duration had run out.
    pub async fn expire_impersonation(&self, id: i64) {
        self.run("UPDATE impersonations SET ends_by = 1 WHERE id = $1", &[Arg::Int(id)]).await;
        self.run("UPDATE sessions SET expires_at = 4000000000 WHERE impersonation_id = $1", &[Arg::Int(id)]).await;
    }

    // --- Sessions -----------------------------------------------------------------------------

    /// Sessions that belong to an impersonation.
    pub async fn impersonation_session_count(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM sessions WHERE impersonation_id IS NOT NULL", &[]).await
    }

    /// Sessions whose stored token hash is exactly `value` (a raw token must never match).
    pub async fn sessions_with_token_hash(&self, value: &str) -> i64 {
        self.scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1", &[Arg::Text(value)]).await
    }

    /// Moves the start of every staff session `seconds` into the past.
    pub async fn age_staff_sessions(&self, seconds: i64) {
        self.run("UPDATE sessions SET created_at = created_at - $1 WHERE kind = 'staff'", &[Arg::Int(seconds)]).await;
    }

    /// Every failed sign-in attempt, oldest first.
    pub async fn login_failures(&self) -> Vec<LoginFailure> {
        self.select("ORDER BY id", &[]).await
    }

    /// Moves every failed sign-in `seconds` into the past.
    pub async fn age_login_failures(&self, seconds: i64) {
        self.run("UPDATE login_failures SET at = at - $1", &[Arg::Int(seconds)]).await;
    }

    // --- The activity log ---------------------------------------------------------------------

    /// The whole activity log, oldest first.
    pub async fn activity(&self) -> Vec<ActivityRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The activity entry with this id.
    pub async fn activity_row(&self, id: i64) -> ActivityRow {
        self.one(&format!("activity entry #{id}"), "WHERE id = $1", &[Arg::Int(id)]).await
    }

    /// The activity entries with this action, oldest first.
    pub async fn activity_rows(&self, action: &str) -> Vec<ActivityRow> {
        self.select("WHERE action = $1 ORDER BY id", &[Arg::Text(action)]).await
    }

    /// The newest activity entry with this action.
    pub async fn newest_activity(&self, action: &str) -> Option<ActivityRow> {
        self.activity_rows(action).await.pop()
    }

    /// How many activity entries there are.
    pub async fn activity_count(&self) -> i64 {
        self.count(Table::Activity).await
    }

    /// How many activity entries have this action.
    pub async fn activity_count_of(&self, action: &str) -> i64 {
        self.scalar("SELECT COUNT(*) FROM activity WHERE action = $1", &[Arg::Text(action)]).await
    }

    /// The activity entries of a group (`action_group`), oldest first.
    pub async fn activity_in_group(&self, group: &str) -> Vec<ActivityRow> {
        self.select("WHERE action_group = $1 ORDER BY id", &[Arg::Text(group)]).await
    }

    /// Checks that the activity ids run from 1 without a gap: each id is used once and none is
    /// skipped.
    pub async fn assert_activity_ids_have_no_gaps(&self) {
        assert_eq!(
            self.scalar("SELECT MAX(id) FROM activity", &[]).await,
            self.count(Table::Activity).await,
            "activity ids have no gaps"
        );
    }

    /// Rewrites an entry's detail, as an attacker with database access would.
    pub async fn set_activity_detail(&self, id: i64, detail: &str) {
        self.run("UPDATE activity SET detail = $1 WHERE id = $2", &[Arg::Text(detail), Arg::Int(id)]).await;
    }

    /// Rewrites an entry's hashes, as an attacker re-hashing the chain would.
    pub async fn set_activity_hashes(&self, id: i64, prev_hash: &str, hash: &str) {
        self.run(
            "UPDATE activity SET prev_hash = $1, hash = $2 WHERE id = $3",
            &[Arg::Text(prev_hash), Arg::Text(hash), Arg::Int(id)],
        )
        .await;
    }

    /// Points the chain's head at another hash, as an attacker re-hashing the chain would.
    pub async fn set_audit_head_hash(&self, hash: &str) {
        self.run("UPDATE audit_head SET last_hash = $1 WHERE id = 1", &[Arg::Text(hash)]).await;
    }

    /// Deletes the newest activity entry and nothing else.
    pub async fn delete_newest_activity(&self) {
        self.exec("DELETE FROM activity WHERE id = (SELECT MAX(id) FROM activity)").await;
    }

    /// Cuts the log after entry `keep` and moves the head back with it, so the chain itself
    /// still holds.
    pub async fn cut_activity_after(&self, keep: i64) {
        self.run("DELETE FROM activity WHERE id > $1", &[Arg::Int(keep)]).await;
        self.run(
            "UPDATE audit_head SET last_id = $1, last_hash = (SELECT hash FROM activity WHERE id = $2) WHERE id = 1",
            &[Arg::Int(keep), Arg::Int(keep)],
        )
        .await;
    }

    /// The sizes the stored checkpoints sign, oldest first.
    pub async fn checkpoint_sizes(&self) -> Vec<i64> {
        let rows = self.fetch("SELECT size FROM audit_checkpoints ORDER BY id", &[]).await;
        rows.iter().map(|r| r.get("size")).collect()
    }

    /// Replaces every stored checkpoint's note with junk.
    pub async fn spoil_checkpoints(&self) {
        self.exec("UPDATE audit_checkpoints SET note = 'junk'").await;
    }

    /// Deletes every stored checkpoint.
    pub async fn delete_checkpoints(&self) {
        self.exec("DELETE FROM audit_checkpoints").await;
    }

    // --- API -----------------------------------------------------------------------------------

    /// The stored hashes of every staff API key.
    pub async fn api_key_hashes(&self) -> Vec<String> {
        let rows = self.fetch("SELECT key_hash FROM api_keys ORDER BY id", &[]).await;
        rows.iter().map(|r| r.get("key_hash")).collect()
    }

    /// How a Login as Client session was started: `page` or `api`.
    pub async fn impersonation_channel(&self, id: i64) -> String {
        let rows = self.fetch("SELECT channel FROM impersonations WHERE id = $1", &[Arg::Int(id)]).await;
        rows.first().map(|r| r.get("channel")).expect("the impersonation exists")
    }

    // --- Settings -----------------------------------------------------------------------------

    /// The value stored for a setting (none while it has its default and was never saved).
    pub async fn stored_setting(&self, key: &str) -> Option<String> {
        let rows = self.fetch("SELECT value FROM settings WHERE key = $1", &[Arg::Text(key)]).await;
        rows.first().map(|r| r.get("value"))
    }

    // --- Tickets ------------------------------------------------------------------------------

    /// The id of a client's first ticket.
    pub async fn first_ticket_of(&self, client: i64) -> i64 {
        self.scalar("SELECT MIN(id) FROM tickets WHERE client_id = $1", &[Arg::Int(client)]).await
    }

    /// How many tickets a client has.
    pub async fn ticket_count_of(&self, client: i64) -> i64 {
        self.scalar("SELECT COUNT(*) FROM tickets WHERE client_id = $1", &[Arg::Int(client)]).await
    }

    /// How many services a client has.
    pub async fn service_count_of(&self, client: i64) -> i64 {
        self.scalar("SELECT COUNT(*) FROM services WHERE client_id = $1", &[Arg::Int(client)]).await
    }

    /// Every ticket reply, oldest first.
    pub async fn ticket_replies(&self) -> Vec<TicketReply> {
        self.select("ORDER BY id", &[]).await
    }

    // --- Shop ---------------------------------------------------------------------------------

    /// The id of the product with this SKU.
    pub async fn product_id(&self, sku: &str) -> i64 {
        self.scalar("SELECT id FROM products WHERE sku = $1", &[Arg::Text(sku)]).await
    }

    /// Changes a product's price directly.
    pub async fn set_product_price(&self, sku: &str, cents: i64) {
        self.run("UPDATE products SET price_cents = $1 WHERE sku = $2", &[Arg::Int(cents), Arg::Text(sku)]).await;
    }

    /// Takes a product off sale directly.
    pub async fn deactivate_product(&self, sku: &str) {
        self.run("UPDATE products SET active = 0 WHERE sku = $1", &[Arg::Text(sku)]).await;
    }

    /// A client's cart in every store.
    pub async fn cart(&self, client: i64) -> Vec<CartItem> {
        self.select("WHERE client_id = $1 ORDER BY product_id", &[Arg::Int(client)]).await
    }

    /// How many of a product are in a client's cart, if it is there at all.
    pub async fn cart_quantity(&self, client: i64, product: i64) -> Option<i64> {
        self.cart(client).await.into_iter().find(|i| i.product_id == product).map(|i| i.quantity)
    }

    /// The value of a client's cart in one store, in minor units.
    pub async fn cart_total_cents(&self, client: i64, store: i64) -> i64 {
        self.scalar(
            "SELECT CAST(SUM(c.quantity * p.price_cents) AS BIGINT) FROM cart_items c JOIN products p ON p.id = c.product_id
             WHERE c.client_id = $1 AND c.store_id = $2",
            &[Arg::Int(client), Arg::Int(store)],
        )
        .await
    }

    /// Every order, oldest first.
    pub async fn orders(&self) -> Vec<OrderRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The newest order; panics if there is none.
    pub async fn latest_order(&self) -> OrderRow {
        self.orders().await.pop().expect("an order was placed")
    }

    /// The id of a client's first order.
    pub async fn first_order_of(&self, client: i64) -> i64 {
        self.scalar("SELECT MIN(id) FROM orders WHERE client_id = $1", &[Arg::Int(client)]).await
    }

    /// The lines of an order.
    pub async fn order_lines(&self, order: i64) -> Vec<OrderLine> {
        self.select("WHERE order_id = $1 ORDER BY id", &[Arg::Int(order)]).await
    }

    // --- Dated lists ------------------------------------------------------------------------

    /// A client's rows of a list the pages sort by date, as (id, date), in id order: `table` is
    /// `invoices`, `orders`, `tickets`, `tasks`, `files` or `subscriptions`, and `date` the
    /// column its lists sort by.
    pub async fn dated_rows(&self, table: &str, date: &str, client: i64) -> Vec<(i64, i64)> {
        let sql = format!("SELECT id, {date} FROM {table} WHERE client_id = $1 ORDER BY id");
        self.fetch(&sql, &[Arg::Int(client)]).await.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    /// Sets the date a list sorts one row by.
    pub async fn set_row_date(&self, table: &str, date: &str, id: i64, at: i64) {
        self.run(&format!("UPDATE {table} SET {date} = $1 WHERE id = $2"), &[Arg::Int(at), Arg::Int(id)]).await;
    }

    /// Every invoice's or order's (`table`) date and number, oldest first (`date` breaks no
    /// ties: rows of one date come in id order).
    pub async fn numbers_by_date(&self, table: &str, date: &str) -> Vec<(i64, String)> {
        let sql = format!("SELECT {date}, number FROM {table} ORDER BY {date}, id");
        self.fetch(&sql, &[]).await.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    // --- Billing ------------------------------------------------------------------------------

    /// The invoice with this id.
    pub async fn invoice(&self, id: i64) -> InvoiceRow {
        self.one(&format!("invoice #{id}"), "WHERE id = $1", &[Arg::Int(id)]).await
    }

    /// A client's invoices, oldest first.
    pub async fn invoices_of(&self, client: i64) -> Vec<InvoiceRow> {
        self.select("WHERE client_id = $1 ORDER BY id", &[Arg::Int(client)]).await
    }

    /// The id of a client's first invoice with this status; panics if there is none.
    pub async fn first_invoice_of(&self, client: i64, status: &str) -> i64 {
        let all = self.invoices_of(client).await;
        all.iter().find(|i| i.status == status).unwrap_or_else(|| panic!("client #{client} has no {status} invoice")).id
    }

    /// How many lines an invoice has.
    pub async fn invoice_line_count(&self, invoice: i64) -> i64 {
        self.scalar("SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = $1", &[Arg::Int(invoice)]).await
    }

    /// Sets an invoice back to unpaid directly.
    pub async fn mark_invoice_unpaid(&self, id: i64) {
        self.run("UPDATE invoices SET status = 'unpaid' WHERE id = $1", &[Arg::Int(id)]).await;
    }

    /// Adds an unpaid invoice directly (no page creates invoices).
    pub async fn add_unpaid_invoice(&self, client: i64, number: &str, currency: &str, cents: i64, store: i64) {
        self.run(
            "INSERT INTO invoices (client_id, number, status, currency, total_cents, issued_at, due_at, store_id)
             VALUES ($1, $2, 'unpaid', $3, $4, 0, 0, $5)",
            &[Arg::Int(client), Arg::Text(number), Arg::Text(currency), Arg::Int(cents), Arg::Int(store)],
        )
        .await;
    }

    /// Every charge attempt, oldest first.
    pub async fn payments(&self) -> Vec<PaymentRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The charge attempts on an invoice, oldest first.
    pub async fn payments_of_invoice(&self, invoice: i64) -> Vec<PaymentRow> {
        self.select("WHERE invoice_id = $1 ORDER BY id", &[Arg::Int(invoice)]).await
    }

    /// Every saved payment method, oldest first.
    pub async fn payment_methods(&self) -> Vec<PaymentMethodRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// Saves a test-provider card for a client directly.
    pub async fn add_payment_method(&self, client: i64, label: &str, last4: &str) {
        self.run(
            "INSERT INTO payment_methods (client_id, provider, label, last4, created_at) VALUES ($1, 'test', $2, $3, 0)",
            &[Arg::Int(client), Arg::Text(label), Arg::Text(last4)],
        )
        .await;
    }

    /// Every subscription, oldest first.
    pub async fn subscriptions(&self) -> Vec<SubscriptionRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The subscription with this id.
    pub async fn subscription(&self, id: i64) -> SubscriptionRow {
        self.one(&format!("subscription #{id}"), "WHERE id = $1", &[Arg::Int(id)]).await
    }

    /// Moves a subscription past the end of its period with cancellation at period end set.
    pub async fn end_subscription_period(&self, id: i64) {
        self.run(
            "UPDATE subscriptions SET cancel_at_period_end = 1, current_period_end = 1000 WHERE id = $1",
            &[Arg::Int(id)],
        )
        .await;
    }

    // --- Files and tasks ----------------------------------------------------------------------

    /// Every shared file, oldest first.
    pub async fn files(&self) -> Vec<FileRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The file with this id, if its row exists.
    pub async fn file(&self, id: i64) -> Option<FileRow> {
        self.select("WHERE id = $1", &[Arg::Int(id)]).await.pop()
    }

    /// Deletes a file's row, leaving its bytes on disk.
    pub async fn forget_file(&self, id: i64) {
        self.run("DELETE FROM files WHERE id = $1", &[Arg::Int(id)]).await;
    }

    /// Every task, oldest first.
    pub async fn tasks(&self) -> Vec<TaskRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// A client's tasks, oldest first.
    pub async fn tasks_of(&self, client: i64) -> Vec<TaskRow> {
        self.select("WHERE client_id = $1 ORDER BY id", &[Arg::Int(client)]).await
    }

    /// The task with this id.
    pub async fn task(&self, id: i64) -> TaskRow {
        self.one(&format!("task #{id}"), "WHERE id = $1", &[Arg::Int(id)]).await
    }

    /// Adds `n` open tasks titled `Bulk task 1`… to a client directly, created in the last `n`
    /// seconds in that order (so the last is the newest).
    pub async fn add_bulk_tasks(&self, client: i64, n: i64) {
        self.exec(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             INSERT INTO tasks (client_id, title, status, created_at) SELECT {client}, 'Bulk task ' || i, 'open', {start} + i FROM n",
            start = behalf::domain::now() - n
        ))
        .await;
    }

    /// The comments on a task, oldest first.
    pub async fn task_comments(&self, task: i64) -> Vec<TaskComment> {
        self.select("WHERE task_id = $1 ORDER BY id", &[Arg::Int(task)]).await
    }

    // --- Mail ---------------------------------------------------------------------------------

    /// Every queued e-mail, oldest first.
    pub async fn outbox(&self) -> Vec<OutboxRow> {
        self.select("ORDER BY id", &[]).await
    }

    /// The queued e-mail with this id.
    pub async fn outbox_message(&self, id: i64) -> OutboxRow {
        self.one(&format!("outbox message #{id}"), "WHERE id = $1", &[Arg::Int(id)]).await
    }
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

    /// The first form posting to `action`, as the page offers it.
    pub fn form(&self, action: &str) -> Option<FormState> {
        self.forms().into_iter().find(|(a, _)| a == action).map(|(_, f)| f)
    }

    /// Every form of the page's body that writes: all POST forms but the banner's and the top
    /// bar's (Return to Admin, sign-out), each with its action.
    pub fn write_forms(&self) -> Vec<(String, FormState)> {
        self.forms().into_iter().filter(|(a, _)| a != "/logout" && a != "/impersonation/return").collect()
    }

    fn forms(&self) -> Vec<(String, FormState)> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = |s: &str| scraper::Selector::parse(s).expect("a valid selector");
        let (forms, submit, note) = (sel("form[method=post]"), sel("button[type=submit]"), sel(".control-note"));
        doc.select(&forms)
            .map(|form| {
                let action = form.value().attr("action").unwrap_or_default().to_string();
                let button = form.select(&submit).next();
                let in_disabled_fieldset = |e: scraper::ElementRef| {
                    e.ancestors()
                        .filter_map(scraper::ElementRef::wrap)
                        .any(|a| a.value().name() == "fieldset" && a.value().attr("disabled").is_some())
                };
                let disabled = button.is_some_and(|b| b.value().attr("disabled").is_some() || in_disabled_fieldset(b));
                let title = form.select(&sel("fieldset[title]")).next().and_then(|f| f.value().attr("title"));
                let note = form
                    .select(&note)
                    .next()
                    .map(|n| n.text().collect::<String>().trim().to_string())
                    .or(title.map(str::to_string));
                (action, FormState { disabled, note })
            })
            .collect()
    }
}

/// A form as a page offers it: whether its submit button is disabled (itself or by a disabled
/// fieldset around it) and the note that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormState {
    pub disabled: bool,
    pub note: Option<String>,
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
