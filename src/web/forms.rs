//! Forms both sides post: the extractor that checks a post's CSRF token against its session, the
//! CSRF-only form, a page number, and a text body with its check.

use crate::auth::guards::SessionCsrf;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::shop::MAX_KEY_CHARS;
use crate::web::extract::{form_bytes, parse_form};
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A form post from a signed-in session `G` (`StaffAuth`, `StaffEnrolling` or `PortalAuth`),
/// whose CSRF token already matched that session: the preamble every state-changing handler
/// shares, written once, so no handler can forget it. The guard answers first (a visitor
/// without a session is sent to sign in), then a malformed form (422), then a wrong token (403).
pub struct Post<G, T> {
    pub auth: G,
    pub form: T,
}

impl<G, T> FromRequest<AppState> for Post<G, T>
where
    G: FromRequestParts<AppState, Rejection = AppError> + SessionCsrf + Send,
    T: DeserializeOwned,
{
    type Rejection = AppError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let auth = G::from_request_parts(&mut parts, state).await?;
        let bytes = form_bytes(Request::from_parts(parts, body), state).await?;
        let form: T = parse_form(&bytes)?;
        let CsrfOnly { csrf_token } = parse_form(&bytes)?;
        auth.check_csrf(&csrf_token)?;
        Ok(Post { auth, form })
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf_token: String,
}

/// The trimmed text of a reply or comment (`what`), or the message asking for 1 to `max` characters.
pub(crate) fn checked_body<'a>(body: &'a str, max: usize, what: &str) -> Result<&'a str, String> {
    let trimmed = body.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max {
        return Err(format!("Write a {what} of 1 to {max} characters."));
    }
    Ok(trimmed)
}

/// A new ticket's subject and message, trimmed, or what the person must correct (the portal's
/// form and the API check it the same way).
pub(crate) fn checked_ticket<'a>(subject: &'a str, body: &'a str) -> Result<(&'a str, &'a str), String> {
    use crate::store::portal::{MAX_BODY_CHARS, MAX_SUBJECT_CHARS};
    let (subject, body) = (subject.trim(), body.trim());
    if subject.is_empty() || body.is_empty() {
        Err("Give the ticket a subject and a message.".to_string())
    } else if subject.chars().count() > MAX_SUBJECT_CHARS || body.chars().count() > MAX_BODY_CHARS {
        Err(format!(
            "The subject may have at most {MAX_SUBJECT_CHARS} characters and the message at most {MAX_BODY_CHARS}."
        ))
    } else {
        Ok((subject, body))
    }
}

/// A form with one text: a ticket reply or a task comment (portal or admin).
#[derive(Debug, Deserialize)]
pub struct BodyForm {
    #[serde(default)]
    pub(crate) body: String,
}

/// Page query.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub(crate) page: Option<String>,
}

/// Query of a list a status filters (`/invoices?status=unpaid&page=2`).
#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    pub(crate) page: Option<String>,
    pub(crate) status: Option<String>,
}

/// The idempotency key of a checkout or pay form, if it came back whole (1 to `MAX_KEY_CHARS`).
pub(crate) fn idempotency_key(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|k| !k.is_empty() && k.chars().count() <= MAX_KEY_CHARS)
}

/// Query of a files page (the client's own, or one client's on the staff side).
#[derive(Debug, Deserialize)]
pub struct FilesQuery {
    pub page: Option<String>,
    pub shared: Option<String>,
    pub deleted: Option<String>,
}
