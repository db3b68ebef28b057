//! The JSON API (`/api/v1`) and its OAuth endpoints: answers as `application/problem+json`
//! (RFC 9457) with a stable `type` per refusal, the two bearer guards (a Login as Client token for
//! the client's side, a staff API key for the staff side), JSON bodies and cursors that refuse
//! bad input with a 4xx.

pub mod docs;
pub mod oauth;
pub mod portal;
pub mod staff;

use crate::auth::api_keys::{bearer, key_holder, KeyHolder};
use crate::auth::guards::{open_portal, ClientInfo, Closed, Opening, PortalAuth};
use crate::auth::hash_token;
use crate::domain::acting::WriteRefusal;
use crate::domain::session::SessionKind;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{Position, Positioned, StoreError};
use crate::web::extract::{Id, Query};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The prefix of every problem `type`; the rest is a stable slug such as `consent-required`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:behalf:problem:";

/// An API refusal or failure (RFC 9457).
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// The stable part of `type`.
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
}

impl Problem {
    /// A problem of this status and kind.
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem { status, slug, title, detail: detail.into() }
    }

    /// 401: no usable credentials.
    pub fn unauthorized(slug: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, slug, "Not signed in", detail)
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail)
    }

    /// 422: a field's value is refused.
    pub fn invalid_field(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", "A field is not acceptable", detail)
    }

    /// 403 for a write this Login as Client session may not make.
    pub fn write_refused(r: WriteRefusal) -> Self {
        let slug = match r {
            WriteRefusal::ReadOnly => "read-only",
            WriteRefusal::Sensitive => "sensitive-action",
        };
        Problem::new(StatusCode::FORBIDDEN, slug, "Not allowed in this session", r.message())
    }

    /// The full `type` URI.
    pub fn type_uri(&self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.slug)
    }
}

/// A problem as sent (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// `urn:behalf:problem:` and a stable slug: `read-only`, `invalid-token`, `session-ended`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    /// What a person reads.
    pub detail: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body =
            ProblemBody { kind: self.type_uri(), title: self.title, status: self.status.as_u16(), detail: self.detail };
        let text = serde_json::to_string(&body).unwrap_or_default();
        let mut r = (self.status, text).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"behalf\""));
        }
        r
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        let generic = |status: StatusCode, detail: String| {
            let (slug, title) = match status.as_u16() {
                400 => ("bad-request", "Bad request"),
                401 => ("unauthorized", "Not signed in"),
                403 => ("forbidden", "Forbidden"),
                404 => ("not-found", "Not found"),
                409 => ("conflict", "Conflict"),
                413 => ("too-large", "Request too large"),
                415 => ("unsupported-media-type", "Unsupported media type"),
                422 => ("invalid-field", "A field is not acceptable"),
                503 => ("unavailable", "Briefly unavailable"),
                _ => ("internal", "Internal error"),
            };
            Problem::new(status, slug, title, detail)
        };
        match e {
            AppError::Status(status, msg) => generic(status, msg),
            AppError::Page(status, _) => generic(status, "The request was refused.".into()),
            AppError::Unavailable => generic(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is briefly unavailable. Try again in a moment.".into(),
            ),
            AppError::Redirect { .. } => generic(StatusCode::UNAUTHORIZED, "Sign in first.".into()),
            internal @ AppError::Internal(_) => {
                // Logged once, as every page's internal error is; the caller sees no detail.
                let _ = internal.into_response();
                generic(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. It has been logged.".into(),
                )
            }
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, Problem>;

/// A client-side API request: a Login as Client token whose session is live right now. The
/// token's signature, expiry, audience and issuer are checked, then the session behind its
/// `jti` is opened exactly as a portal cookie is (`open_portal`), so every rule that ends a page
/// session ends the token on the very next request, on every node.
pub struct ApiClient(pub PortalAuth);

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            Problem::unauthorized("token-required", "Send a Login as Client token as `Authorization: Bearer TOKEN`.")
        })?;
        let claims = state
            .tokens
            .verify(token, crate::domain::now())
            .map_err(|e| Problem::unauthorized("invalid-token", e.to_string()))?;
        let info = ClientInfo::from_parts(parts);
        match open_portal(state, &hash_token(&claims.jti), SessionKind::Api, info, Opening::Use).await? {
            Ok(auth) if auth.acting.impersonation_id() == Some(claims.imp) => Ok(ApiClient(auth)),
            Ok(_) | Err(Closed::NoSession) | Err(Closed::Invalid) => {
                Err(Problem::unauthorized("session-ended", "The Login as Client session of this token has ended."))
            }
            Err(Closed::Ended { reason, .. }) => Err(Problem::unauthorized(
                "session-ended",
                format!(
                    "The Login as Client session of this token has ended ({}): {}",
                    reason.as_str(),
                    reason.message()
                ),
            )),
        }
    }
}

/// A staff-side API request: a live API key of an active staff member, with their permissions as
/// they are now.
pub struct ApiStaff(pub KeyHolder);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let key = bearer(&parts.headers).ok_or_else(|| {
            Problem::unauthorized("key-required", "Send a staff API key as `Authorization: Bearer KEY`.")
        })?;
        let holder = key_holder(&state.store, key, ClientInfo::from_parts(parts)).await?.ok_or_else(|| {
            Problem::unauthorized(
                "invalid-key",
                "The API key is unknown, expired or revoked, or its owner is disabled.",
            )
        })?;
        two_factor_ready(&holder)?;
        Ok(ApiStaff(holder))
    }
}

/// A key of a staff member whom `security.staff_2fa` requires to have two-factor, and who has
/// not set it up, opens nothing, as their pages open nothing but the setup.
pub fn two_factor_ready(holder: &KeyHolder) -> Result<(), Problem> {
    if holder.two_factor_required && !holder.two_factor {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "two-factor-required",
            "Two-factor required",
            "Your account must set up two-factor on /admin/2fa/setup before its API keys work.",
        ))
    } else {
        Ok(())
    }
}

impl ApiStaff {
    /// 403 unless the key's owner holds the permission now.
    pub fn require(&self, p: crate::domain::permissions::Permission) -> ApiResult<()> {
        if self.0.has(p) {
            Ok(())
        } else {
            Err(Problem::new(StatusCode::FORBIDDEN, "permission-required", "Permission required", p.missing()))
        }
    }
}

/// A JSON body: `application/json`, within the body limit, free of NUL, and of the expected
/// shape (unknown fields, wrong types and missing fields answer 400 naming the field).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;
    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let is_json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request too large", "The body is over 1 MiB.")
            } else {
                Problem::bad_request("The body could not be read.")
            }
        })?;
        if bytes.contains(&0) || std::str::from_utf8(&bytes).is_ok_and(|t| t.contains("\\u0000")) {
            return Err(Problem::invalid_field("The body contains a NUL character, which no field accepts."));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| Problem::bad_request(format!("The JSON body is not acceptable: {e}.")))
    }
}

/// The numeric `{id}` of an API route; anything but a positive integer answers 400.
pub struct ApiId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ApiId {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Id::from_request_parts(parts, state).await.map(|Id(id)| ApiId(id)).map_err(Problem::from)
    }
}

/// A query string parsed into `T`; bad values answer 400. (A NUL in it was refused by the
/// router already, for every route.)
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::from_request_parts(parts, state).await.map(|Query(q)| ApiQuery(q)).map_err(Problem::from)
    }
}

/// The paging parameters of a list: an opaque `cursor` from the previous answer's `next_cursor`,
/// and `limit` (1 to 100, 20 by default). Lists keep one order (newest first, ties by id).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 100 (20).
    pub limit: Option<String>,
    /// Invoices: `unpaid`, `paid`, `cancelled`; tickets: `open`, `closed`.
    pub status: Option<String>,
}

/// Reads a list's `limit`: 1 to 100, 20 when not given.
pub fn limit(value: Option<&str>) -> ApiResult<i64> {
    match value.map(str::trim) {
        None | Some("") => Ok(20),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| Problem::bad_request("limit must be a number from 1 to 100.")),
    }
}

impl ListQuery {
    /// Reads a keyset cursor (a position in the list) and the limit, for the client's lists.
    pub fn after(&self) -> ApiResult<(Option<Position>, i64)> {
        Ok((read_position(self.cursor.as_deref())?, limit(self.limit.as_deref())?))
    }
}

/// Reads a cursor this API gave for a list of `kind` (`k1`, `a1`, `i1`, `c1`): the base64url of
/// `KIND:REST`, `REST` read by `parse`. `None` without one; 400 for one this server did not make
/// or made for another list.
pub fn read_cursor<T>(value: Option<&str>, kind: &str, parse: impl FnOnce(&str) -> Option<T>) -> ApiResult<Option<T>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) => URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.strip_prefix(kind).and_then(|r| r.strip_prefix(':')).and_then(parse))
            .map(Some)
            .ok_or_else(|| Problem::bad_request("The cursor is not one this API gave.")),
    }
}

/// A positive id, as cursors carry them.
fn positive_id(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|id| *id > 0)
}

/// An id cursor of a log listed newest first (`kind` names the log): the id to continue below.
pub fn id_cursor(value: Option<&str>, kind: &str) -> ApiResult<Option<i64>> {
    read_cursor(value, kind, positive_id)
}

/// Up to `limit` of `items`, which were read as `limit + 1` (that one's presence says a next page
/// exists), and the cursor of `kind` after the last, whose `REST` is `rest` of it.
pub fn next_page<T>(
    mut items: Vec<T>,
    limit: i64,
    kind: &str,
    rest: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next = more.then(|| items.last().map(|r| URL_SAFE_NO_PAD.encode(format!("{kind}:{}", rest(r))))).flatten();
    (items, next)
}

/// [`next_page`] for a log listed newest first by id, with [`id_cursor`]s of `kind`.
pub fn id_page<T>(items: Vec<T>, limit: i64, kind: &str, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    next_page(items, limit, kind, |r| id(r).to_string())
}

/// A client list's position cursor: `k1:DATE:ID`.
fn read_position(value: Option<&str>) -> ApiResult<Option<Position>> {
    read_cursor(value, "k1", |rest| {
        let (at, id) = rest.split_once(':')?;
        Some(Position { at: at.parse().ok()?, id: positive_id(id)? })
    })
}

/// A page of a list with the cursor of the next one (`null` on the last page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Listed<T: Serialize> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: Serialize + Positioned> Listed<T> {
    /// The answer for rows the store read after a cursor, asked for one more than `limit`.
    pub fn of_slice(items: Vec<T>, limit: i64) -> Self {
        let (items, next_cursor) = next_page(items, limit, "k1", |r| {
            let p = r.position();
            format!("{}:{}", p.at, p.id)
        });
        Listed { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        assert_eq!(id_cursor(Some(&URL_SAFE_NO_PAD.encode("a1:7")), "a1").unwrap(), Some(7));
        assert!(id_cursor(Some(&URL_SAFE_NO_PAD.encode("i1:7")), "a1").is_err(), "another log's cursor");
        assert!(id_cursor(Some("garbage"), "a1").is_err());
        assert!(id_cursor(Some(&URL_SAFE_NO_PAD.encode("a1:-3")), "a1").is_err());
        let (items, next) = id_page(vec![9, 8, 7], 2, "a1", |i| *i);
        assert_eq!((items, id_cursor(next.as_deref(), "a1").unwrap()), (vec![9, 8], Some(8)));
        assert_eq!(id_page(vec![9], 2, "a1", |i| *i).1, None);
        assert!(limit(Some("500")).is_err() && limit(Some("0")).is_err());
        assert_eq!(limit(None).unwrap(), 20);
        let p = Position { at: 1_700_000_000, id: 42 };
        assert_eq!(read_position(Some(&URL_SAFE_NO_PAD.encode("k1:1700000000:42"))).unwrap(), Some(p));
        assert!(read_position(Some(&URL_SAFE_NO_PAD.encode("k1:x:42"))).is_err());
        assert!(read_position(Some("garbage")).is_err());
    }

    #[test]
    fn problems_carry_a_stable_type() {
        let p: Problem = AppError::not_found().into();
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert_eq!(p.type_uri(), "urn:behalf:problem:not-found");
        assert_eq!(Problem::write_refused(WriteRefusal::ReadOnly).slug, "read-only");
    }
}
