//! `AppError`: every failure becomes a page with the right status; internals are logged, never shown.

use crate::store::StoreError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::Markup;

/// What a handler can fail with.
#[derive(Debug)]
pub enum AppError {
    /// 303 to a location, optionally clearing or setting cookies.
    Redirect { to: String, cookies: Vec<String> },
    /// A status with a plain message shown on a simple page.
    Status(StatusCode, String),
    /// A fully rendered page (for example a form shown again with its message).
    Page(StatusCode, Markup),
    /// The database is unreachable or overloaded.
    Unavailable,
    /// Anything else: logged, shown as a generic 500.
    Internal(anyhow::Error),
}

impl AppError {
    /// 404 with the standard message.
    pub fn not_found() -> Self {
        AppError::Status(StatusCode::NOT_FOUND, "That page or record does not exist.".into())
    }

    /// 403 with a message.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        AppError::Status(StatusCode::FORBIDDEN, msg.into())
    }

    /// 400 with a message.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        AppError::Status(StatusCode::BAD_REQUEST, msg.into())
    }

    /// 303 to `to`.
    pub fn redirect(to: impl Into<String>) -> Self {
        AppError::Redirect { to: to.into(), cookies: Vec::new() }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::not_found(),
            StoreError::Conflict(m) => AppError::Status(StatusCode::CONFLICT, m),
            StoreError::Db(e) => e.into(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            log_limited(|| tracing::warn!(error = %e, "database unavailable"));
            AppError::Unavailable
        } else {
            AppError::Internal(e.into())
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        // A database outage that travelled through `anyhow` is still an outage, not a bug.
        let outage = e
            .downcast_ref::<sqlx::Error>()
            .or_else(|| match e.downcast_ref::<StoreError>() {
                Some(StoreError::Db(db)) => Some(db),
                _ => None,
            })
            .is_some_and(is_unavailable);
        if outage {
            log_limited(|| tracing::warn!(error = format!("{e:#}"), "database unavailable"));
            AppError::Unavailable
        } else {
            AppError::Internal(e)
        }
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Redirect { to, cookies } => {
                let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
                for c in cookies {
                    if let Ok(v) = c.parse() {
                        r.headers_mut().append(header::SET_COOKIE, v);
                    }
                }
                r
            }
            AppError::Status(code, msg) => (code, crate::web::layout::message_page(code, &msg)).into_response(),
            AppError::Page(code, markup) => (code, markup).into_response(),
            AppError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                crate::web::layout::message_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is briefly unavailable. Please try again in a moment.",
                ),
            )
                .into_response(),
            AppError::Internal(e) => {
                // One line per error (the cause chain, no backtrace), and a flood is summarised.
                log_limited(|| tracing::error!(error = format!("{e:#}"), "internal error"));
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    crate::web::layout::message_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong on our side. It has been logged.",
                    ),
                )
                    .into_response()
            }
        }
    }
}

/// Error lines written per second at most; beyond that they are counted and summarised, so an
/// outage cannot fill the disk with logs.
const ERROR_LINES_PER_SECOND: u32 = 20;

struct LogWindow {
    started: std::time::Instant,
    written: u32,
    suppressed: u64,
}

static LOG_WINDOW: std::sync::Mutex<Option<LogWindow>> = std::sync::Mutex::new(None);

/// Runs `log` unless this second's budget of error lines is spent; says how many were dropped
/// when the next second starts.
pub fn log_limited(log: impl FnOnce()) {
    let now = std::time::Instant::now();
    let (write, dropped) = {
        let mut guard = LOG_WINDOW.lock().unwrap_or_else(|p| p.into_inner());
        let w = guard.get_or_insert(LogWindow { started: now, written: 0, suppressed: 0 });
        let mut dropped = 0;
        if now.duration_since(w.started) >= std::time::Duration::from_secs(1) {
            dropped = std::mem::take(&mut w.suppressed);
            w.started = now;
            w.written = 0;
        }
        let write = w.written < ERROR_LINES_PER_SECOND;
        if write {
            w.written += 1;
        } else {
            w.suppressed += 1;
        }
        (write, dropped)
    };
    if dropped > 0 {
        tracing::warn!(suppressed = dropped, "similar error lines were suppressed in the last second");
    }
    if write {
        log();
    }
}

/// Result alias for handlers.
pub type AppResult<T> = Result<T, AppError>;

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
    fn an_outage_through_anyhow_is_still_a_503() {
        let e = anyhow::Error::from(StoreError::Db(sqlx::Error::PoolTimedOut));
        assert!(matches!(AppError::from(e), AppError::Unavailable));
        let e = anyhow::Error::from(sqlx::Error::PoolClosed);
        assert!(matches!(AppError::from(e), AppError::Unavailable));
        assert!(matches!(AppError::from(anyhow::anyhow!("a bug")), AppError::Internal(_)));
        assert!(matches!(AppError::from(sqlx::Error::RowNotFound), AppError::Internal(_)));
    }
}
