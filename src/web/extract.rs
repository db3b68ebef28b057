//! Extractors whose failures become clear 4xx pages: forms, query strings and numeric ids.

use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// Whether URL-encoded text holds a NUL character, raw or as `%00`. PostgreSQL cannot store it
/// in text and no page has a use for it, so paths, queries and forms with one are refused.
pub fn contains_nul(encoded: &[u8]) -> bool {
    encoded.contains(&0) || encoded.windows(3).any(|w| w == b"%00")
}

/// A URL-encoded form body (at most the router's body limit, else 413).
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = form_bytes(req, state).await?;
        parse_form(&bytes).map(Form)
    }
}

/// The body of a URL-encoded form: the right type, within the body limit, and free of NUL.
pub async fn form_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Forms must be sent as application/x-www-form-urlencoded.".into(),
        ));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|r| {
        let status = r.status();
        let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "The form is too large (the limit is 1 MiB).".to_string()
        } else {
            "The form could not be read.".to_string()
        };
        AppError::Status(status, msg)
    })?;
    // PostgreSQL cannot store NUL in text; refuse it here, once, for every form.
    if contains_nul(&bytes) {
        return Err(AppError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The form contains a NUL character, which no field accepts.".into(),
        ));
    }
    Ok(bytes)
}

/// Reads a form's fields into `T`; a missing or malformed field answers 422.
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, format!("The form is incomplete or malformed: {e}."))
    })
}

/// A query string parsed into `T`; bad values answer 400 with a message.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| AppError::bad_request(format!("The address has a bad parameter: {e}.")))
    }
}

/// The single numeric `{id}` of a route; anything but a positive 64-bit integer answers 400.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::bad_request("The address is missing its id."))?;
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Id(id)),
            _ => {
                Err(AppError::bad_request(format!("'{}' is not a valid id.", raw.chars().take(40).collect::<String>())))
            }
        }
    }
}

/// Parses an optional numeric filter such as `?client=12`; empty means no filter.
pub fn optional_id(value: &Option<String>, name: &str) -> Result<Option<i64>, AppError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| AppError::bad_request(format!("The {name} filter must be a number."))),
    }
}

/// A page number from the query string (default 1).
pub fn page_number(value: &Option<String>) -> Result<i64, AppError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(1),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| AppError::bad_request("The page number must be a whole number from 1.")),
    }
}
