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
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable
            }
            e => AppError::Internal(e.into()),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
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
                tracing::error!(error = ?e, "internal error");
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

/// Result alias for handlers.
pub type AppResult<T> = Result<T, AppError>;
