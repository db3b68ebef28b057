//! Database connection for SQLite and PostgreSQL behind one pool type, and embedded migrations.

pub mod query;

use anyhow::{bail, Context};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// Which engine a database URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database. Every store query goes through [`query`]: on SQLite to rusqlite connections
/// (readers, and one writer so writes never fight over the lock), on PostgreSQL to one shared
/// sqlx pool. SQLite's sqlx pools only run the migrations (and the tests' own checks).
#[derive(Clone)]
pub struct Db {
    /// SQLite's readers and writer through rusqlite, for [`query::Query`]; `None` on PostgreSQL.
    pub sqlite: Option<std::sync::Arc<query::Sqlite>>,
    /// PostgreSQL's pool; on SQLite, sqlx readers for the migrations and the tests.
    pub read: AnyPool,
    /// PostgreSQL's pool again; on SQLite, the sqlx connection migrations write through.
    pub write: AnyPool,
    pub backend: Backend,
}

struct Migration {
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// One migration by its file name, the same in both folders.
macro_rules! migration {
    ($name:literal) => {
        Migration {
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Migrations in order; each name exists in both folders.
const MIGRATIONS: &[Migration] = &[
    migration!("0001_core"),
    migration!("0002_transparency"),
    migration!("0003_activity_actor_index"),
    migration!("0004_environment"),
    migration!("0005_ticket_order_index"),
    migration!("0006_outbox_claim"),
    migration!("0007_audit_checkpoints"),
    migration!("0008_staff_two_factor"),
    migration!("0009_outbox_retry"),
    migration!("0010_api"),
    migration!("0011_webhooks"),
    migration!("0012_list_order_indexes"),
    migration!("0013_impersonation_api_key"),
];

/// sqlx warns on every acquire that waited over a threshold: under load that is one log line per
/// request (4,066 in a 30 s run of 1,000 connections). The wait is exported as a metric instead
/// (`behalf_db_pool_acquire_wait_seconds`), and the line is kept for debug logging.
const QUIET_SLOW_ACQUIRE: log::LevelFilter = log::LevelFilter::Debug;

/// Connections per node to PostgreSQL: `BEHALF_DB_POOL`, or twice this machine's cores plus two.
/// More only queue inside PostgreSQL: on 2 cores, 6 connections served 5,557–5,692 impersonated
/// dashboards a second against 4,011–4,985 with 16 and 4,002 with 32 (bench/RESULTS.md).
fn postgres_pool_size() -> u32 {
    std::env::var("BEHALF_DB_POOL")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| (1..=1000).contains(n))
        .unwrap_or_else(|| 2 * std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2) + 2)
}

impl Db {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…` with the default limits.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_with(url, &crate::config::Limits::default()).await
    }

    /// Connects with the given timeouts.
    pub async fn connect_with(url: &str, limits: &crate::config::Limits) -> anyhow::Result<Db> {
        install_default_drivers();
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                bail!("the SQLite URL has no file path: use sqlite://behalf.db");
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            let full = format!("sqlite://{path}{sep}mode=rwc");
            let opts = |max: u32| {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .min_connections(1)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .acquire_slow_level(QUIET_SLOW_ACQUIRE)
                    // A SQLite connection is a file handle on this machine that cannot drop
                    // away; sqlx's ping before each use is a round trip to the connection's
                    // worker thread (two thread wake-ups) for nothing. sqlx still pings once
                    // when the connection is given back, which catches a broken one.
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(sqlx::raw_sql(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
                            ))
                            .await?;
                            Ok(())
                        })
                    })
            };
            let write = opts(1).connect(&full).await.with_context(|| format!("cannot open SQLite database {path}"))?;
            // Nothing in the product reads through sqlx on SQLite (the tests' own checks do), so
            // its readers open only when first used instead of at start-up.
            let read = opts(8)
                .min_connections(0)
                .connect_lazy(&full)
                .with_context(|| format!("cannot open SQLite database {path}"))?;
            let file = path.split('?').next().unwrap_or(path);
            let sqlite = query::Sqlite::open(file, 8).with_context(|| format!("cannot open SQLite database {path}"))?;
            Ok(Db { sqlite: Some(std::sync::Arc::new(sqlite)), read, write, backend: Backend::Sqlite })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Fail fast and heal by itself when PostgreSQL goes away (restart, failover): a request
            // waits at most 3 s for a connection and then answers 503; a pooled connection that sat
            // idle for over a second is pinged before use, so the ones a restart killed are dropped
            // and replaced (one busy a moment ago is trusted: pinging every acquire costs a round
            // trip per query, and a dead one fails its one request with a 503 and is then closed);
            // none is kept open forever, so connections also move to a replacement server.
            // A server that accepts connections but hangs (a table held by a lock, a stuck disk) must
            // not hold requests or connections for ever: each statement is cancelled after
            // `statement_timeout` and the request answers 503, and the connection goes back whole.
            let statement_ms = limits.statement_timeout.as_millis().max(1);
            let set_timeouts: std::sync::Arc<str> =
                format!("SET statement_timeout = {statement_ms}; SET idle_in_transaction_session_timeout = 60000")
                    .into();
            let connect_timeout = limits.connect_timeout;
            let options = || {
                AnyPoolOptions::new()
                    .max_connections(postgres_pool_size())
                    .min_connections(0)
                    .acquire_timeout(connect_timeout)
                    .acquire_slow_level(QUIET_SLOW_ACQUIRE)
                    .after_connect({
                        let set_timeouts = set_timeouts.clone();
                        move |conn, _| {
                            let sql = set_timeouts.clone();
                            Box::pin(async move {
                                conn.execute(sqlx::raw_sql(&sql)).await?;
                                Ok(())
                            })
                        }
                    })
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > std::time::Duration::from_secs(1) {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .idle_timeout(std::time::Duration::from_secs(60))
                    .max_lifetime(std::time::Duration::from_secs(30 * 60))
            };
            // A node started while PostgreSQL restarts waits for it (up to 30 s) rather than exit.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let pool = loop {
                match options().connect(url).await {
                    Ok(pool) => break pool,
                    Err(e) if is_unavailable(&e) && std::time::Instant::now() < deadline => {
                        tracing::warn!(error = %e, "PostgreSQL is not answering yet; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(e).context("cannot connect to PostgreSQL"),
                }
            };
            Ok(Db { sqlite: None, read: pool.clone(), write: pool, backend: Backend::Postgres })
        } else {
            bail!("unsupported database URL '{url}': use sqlite://PATH or postgres://USER@HOST:PORT/DB")
        }
    }

    /// Applies every migration not yet applied, each in its own transaction.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.write.acquire().await?;
        if self.backend == Backend::Postgres {
            // Migrations and the wait for another node's may take longer than a request may.
            conn.execute("SET statement_timeout = 0").await?;
            // Several nodes may start at once; one migrates, the others wait.
            conn.execute("SELECT pg_advisory_lock(724529001)").await?;
        }
        let result = async {
            conn.execute(
                "CREATE TABLE IF NOT EXISTS behalf_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await?;
            for m in MIGRATIONS {
                let done: Option<(String,)> = sqlx::query_as("SELECT name FROM behalf_migrations WHERE name = $1")
                    .bind(m.name)
                    .fetch_optional(&mut *conn)
                    .await?;
                if done.is_some() {
                    continue;
                }
                let sql = match self.backend {
                    Backend::Sqlite => m.sqlite,
                    Backend::Postgres => m.postgres,
                };
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                tx.execute(sqlx::raw_sql(sql)).await.with_context(|| format!("migration {} failed", m.name))?;
                sqlx::query("INSERT INTO behalf_migrations (name, applied_at) VALUES ($1, $2)")
                    .bind(m.name)
                    .bind(crate::domain::now())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        }
        .await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(724529001)").await?;
            // This connection lost its statement timeout; it is not given back to the pool.
            conn.close().await?;
        }
        result
    }
}

/// Whether a database error means "the database cannot be reached right now" (answer 503 and
/// let the pool reconnect) rather than a fault in a query (answer 500).
///
/// Connection-class failures are I/O and TLS errors, an exhausted or closed pool, a connection
/// that died mid-conversation (protocol errors, a crashed worker), and the PostgreSQL SQLSTATEs
/// of class `08` (connection exception) and `57P01`–`57P03` (the server is shutting down,
/// crashed, or not accepting connections yet), which a restart produces.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| unavailable_sqlstate(&c)),
        _ => false,
    }
}

fn unavailable_sqlstate(code: &str) -> bool {
    // PostgreSQL's SQLSTATEs have five characters; SQLite's (extended) result codes at most four digits.
    if let Some(sqlite) = code.parse::<i64>().ok().filter(|_| code.len() < 5) {
        // SQLite's result codes: busy or locked past the busy timeout, out of memory, disk I/O,
        // disk full, and "unable to open database file" (which running out of file descriptors
        // gives) all mean "not now", not a bug.
        return matches!(sqlite & 0xff, 5 | 6 | 7 | 10 | 13 | 14);
    }
    // PostgreSQL: connection exceptions, insufficient resources (too many connections),
    // a statement cancelled by `statement_timeout`, a lock not available, and shutdown or start.
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57014" | "55P03" | "57P01" | "57P02" | "57P03")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_query_faults_are_not() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(is_unavailable(&sqlx::Error::Io(refused)));
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::PoolClosed));
        assert!(is_unavailable(&sqlx::Error::Protocol("unexpected end of stream".into())));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
        for code in ["08000", "08006", "08001", "57P01", "57P02", "57P03", "57014", "53300", "55P03", "14", "270", "5"]
        {
            assert!(unavailable_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "22021", "19", "1", "2067"] {
            assert!(!unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn migration_folders_match() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let sqlite = names("sqlite");
        assert_eq!(sqlite, names("postgres"));
        let embedded: Vec<String> = MIGRATIONS.iter().map(|m| format!("{}.sql", m.name)).collect();
        assert_eq!(sqlite, embedded);
    }

    /// The two folders say the same thing: they differ only in how an id column is declared.
    #[test]
    fn migrations_differ_only_in_id_columns() {
        for m in MIGRATIONS {
            let as_sqlite = m
                .postgres
                .replace("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,", "id INTEGER PRIMARY KEY,");
            assert_eq!(as_sqlite, m.sqlite, "{}: the PostgreSQL and SQLite texts differ beyond id columns", m.name);
        }
    }
}
