//! `AppError`: every failure becomes a page with the right status; internals are logged, never shown.

use crate::db::is_unavailable;
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
            StoreError::Conflict(c) => AppError::Status(StatusCode::CONFLICT, c.to_string()),
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

/// A 303 to `to` that sets (or clears) `cookies`: how sign-in, sign-out and the starts and ends
/// of Login as Client answer on success, and how a guard sends a visitor to sign in.
pub fn see_other(to: &str, cookies: &[String]) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    for c in cookies {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Redirect { to, cookies } => see_other(&to, &cookies),
            AppError::Status(code, msg) => (code, crate::page::message_page(code, &msg)).into_response(),
            AppError::Page(code, markup) => (code, markup).into_response(),
            AppError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                crate::page::message_page(
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
                    crate::page::message_page(
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
    fn an_outage_through_anyhow_is_still_a_503() {
        let e = anyhow::Error::from(StoreError::Db(sqlx::Error::PoolTimedOut));
        assert!(matches!(AppError::from(e), AppError::Unavailable));
        let e = anyhow::Error::from(sqlx::Error::PoolClosed);
        assert!(matches!(AppError::from(e), AppError::Unavailable));
        assert!(matches!(AppError::from(anyhow::anyhow!("a bug")), AppError::Internal(_)));
        assert!(matches!(AppError::from(sqlx::Error::RowNotFound), AppError::Internal(_)));
    }
}
