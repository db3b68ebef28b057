//! Forms both sides post: the CSRF-only form, a page number, and a text body with its check.

use serde::Deserialize;

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

/// A form with one text: a ticket reply or a task comment (portal or admin).
#[derive(Debug, Deserialize)]
pub struct BodyForm {
    #[serde(default)]
    pub(crate) csrf_token: String,
    #[serde(default)]
    pub(crate) body: String,
}

/// Page query.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub(crate) page: Option<String>,
}
