//! The API's plain rules: staff API keys, the token exchange's names (RFC 8693), scopes and the
//! Login as Client modes they ask for, the claims of an issued token, and the channel a session
//! was started through.

use super::impersonation::{Mode, Refusal};
use serde::{Deserialize, Serialize};

/// `grant_type` of the token exchange (RFC 8693).
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// `actor_token_type` naming a staff API key.
pub const TOKEN_TYPE_API_KEY: &str = "urn:behalf:token-type:api-key";
/// `subject_token_type` naming a client by id.
pub const TOKEN_TYPE_CLIENT_ID: &str = "urn:behalf:token-type:client-id";
/// `issued_token_type` of the answer: an access token (a JWT).
pub const ISSUED_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The `aud` of every issued token: this portal's API.
pub const AUDIENCE: &str = "behalf-api";

/// What an API key starts with, so a leaked one is recognisable (and scanners can find it).
pub const API_KEY_PREFIX: &str = "bhk_";
/// How much of a key its owner sees in the list once it is made.
const SHOWN_PREFIX_CHARS: usize = 12;
/// Longest name of an API key.
pub const MAX_KEY_NAME_CHARS: usize = 100;

/// A new staff API key: `bhk_` and 256 random bits in hex. Only its SHA-256 is stored.
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", super::token::new_token())
}

/// Whether `value` has the shape of a key [`new_api_key`] made; anything else is refused before
/// the database is asked.
pub fn is_api_key(value: &str) -> bool {
    value.strip_prefix(API_KEY_PREFIX).is_some_and(super::token::is_issued_token)
}

/// The start of a key that its owner sees in the list: enough to tell keys apart, too little to use.
pub fn shown_prefix(key: &str) -> String {
    key.chars().take(SHOWN_PREFIX_CHARS).collect()
}

/// Reads an API key's name: trimmed, 1 to [`MAX_KEY_NAME_CHARS`] characters.
pub fn key_name(name: &str) -> Result<&str, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        Err("Give the key a name, such as the tool that will use it.")
    } else if name.chars().count() > MAX_KEY_NAME_CHARS {
        Err("The name may have at most 100 characters.")
    } else {
        Ok(name)
    }
}

/// Reads a key's optional expiry, a date (`2027-03-31`): the key works through that day (UTC).
/// Empty means never; a day already over is refused.
pub fn key_expiry(text: &str, now: i64) -> Result<Option<i64>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text, &fmt).map_err(|_| "The expiry must be a date such as 2027-03-31.")?;
    let ends = day.midnight().assume_utc().unix_timestamp() + 86400;
    if ends <= now {
        Err("The expiry must be today or a later day.")
    } else {
        Ok(Some(ends))
    }
}

/// What a Login as Client token may do in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Look only: a read-only session.
    PortalRead,
    /// Act for the client: a full session (never the sensitive actions).
    PortalWrite,
}

impl Scope {
    /// The `scope` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PortalRead => "portal:read",
            Scope::PortalWrite => "portal:write",
        }
    }

    /// Reads a `scope` parameter; a missing one is `portal:read`.
    pub fn parse(value: Option<&str>) -> Option<Scope> {
        match value.map(str::trim) {
            None | Some("") | Some("portal:read") => Some(Scope::PortalRead),
            Some("portal:write") => Some(Scope::PortalWrite),
            Some(_) => None,
        }
    }

    /// The scope a session of this mode grants.
    pub fn of_mode(mode: Mode) -> Scope {
        match mode {
            Mode::ReadOnly => Scope::PortalRead,
            Mode::Full => Scope::PortalWrite,
        }
    }

    /// The Login as Client mode this scope asks for, as the start form's `mode` field.
    pub fn mode(self) -> Mode {
        match self {
            Scope::PortalRead => Mode::ReadOnly,
            Scope::PortalWrite => Mode::Full,
        }
    }
}

/// How a Login as Client session was started; stored as `impersonations.channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The Login as Client button on the admin side.
    Page,
    /// Token exchange at `POST /oauth/token`.
    Api,
}

impl Channel {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Page => "page",
            Channel::Api => "api",
        }
    }

    /// Reads the stored form; anything unknown is the page, the default of older rows.
    pub fn parse(value: &str) -> Channel {
        if value == "api" {
            Channel::Api
        } else {
            Channel::Page
        }
    }

    /// How staff read it after "via": "Login as Client" or "the API".
    pub fn via(self) -> &'static str {
        match self {
            Channel::Page => "Login as Client",
            Channel::Api => "the API",
        }
    }
}

/// The staff member inside a Login as Client token (RFC 8693 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActorClaim {
    /// `staff:ID`.
    pub sub: String,
    pub email: String,
}

/// The claims of a Login as Client token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    pub aud: String,
    /// The client's id.
    pub sub: String,
    pub act: ActorClaim,
    /// The Login as Client session's id.
    pub imp: i64,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    /// Random; only its SHA-256 is stored, as the session's token hash.
    pub jti: String,
}

impl TokenClaims {
    /// The `act.sub` of a staff member.
    pub fn staff_subject(staff_id: i64) -> String {
        format!("staff:{staff_id}")
    }
}

/// An OAuth error (RFC 6749 §5.2): its code, its HTTP status and what a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub status: u16,
    pub description: String,
    /// For a Login as Client refusal, its stable name (`no_consent`, `reason_required`, …), the
    /// same the metrics and the `impersonation.refused` webhook use.
    pub refusal: Option<&'static str>,
}

impl OAuthError {
    /// A request that is malformed or misses a parameter.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError { error: "invalid_request", status: 400, description: description.into(), refusal: None }
    }

    /// An actor token that is not a live API key.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        OAuthError { error: "invalid_grant", status: 400, description: description.into(), refusal: None }
    }

    /// The policy refuses.
    pub fn access_denied(description: impl Into<String>) -> Self {
        OAuthError { error: "access_denied", status: 403, description: description.into(), refusal: None }
    }

    /// A Login as Client refusal, as the token endpoint answers it: the start form's missing
    /// input (a reason, a store) is a bad request, a policy refusal is `access_denied`.
    pub fn from_refusal(r: &Refusal) -> Self {
        let e = match r {
            Refusal::UnknownMode => OAuthError::invalid_request(r.message()).with_error("invalid_scope"),
            _ if r.status() == 422 => OAuthError::invalid_request(r.message()),
            _ => OAuthError::access_denied(r.message()),
        };
        OAuthError { refusal: Some(r.code()), ..e }
    }

    /// The same error under another `error` code, with the status it has.
    pub fn with_error(self, error: &'static str) -> Self {
        OAuthError { error, ..self }
    }

    /// An error of any code and status, for the rarer cases (`unsupported_grant_type`,
    /// `server_error`, `temporarily_unavailable`).
    pub fn other(error: &'static str, status: u16, description: impl Into<String>) -> Self {
        OAuthError { error, status, description: description.into(), refusal: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_recognisable_and_random() {
        let k = new_api_key();
        assert!(k.starts_with("bhk_") && k.len() == 68, "{k}");
        assert!(is_api_key(&k));
        assert_ne!(k, new_api_key());
        assert!(!is_api_key(&k[4..]));
        assert!(!is_api_key("bhk_x"));
        assert!(!is_api_key(&k.to_uppercase()));
        assert_eq!(shown_prefix(&k).len(), 12);
    }

    #[test]
    fn key_names_are_trimmed_and_bounded() {
        assert_eq!(key_name("  ci  "), Ok("ci"));
        assert!(key_name(" ").is_err());
        assert!(key_name(&"x".repeat(101)).is_err());
        assert!(key_name(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn expiries_are_days_to_come() {
        let now = 1_800_000_000; // 2027-01-15 08:00 UTC
        assert_eq!(key_expiry("", now), Ok(None));
        assert_eq!(key_expiry("2027-01-15", now), Ok(Some(1_800_057_600)));
        assert!(key_expiry("2027-01-14", now).is_err());
        assert!(key_expiry("next week", now).is_err());
        assert!(key_expiry("2027-02-30", now).is_err());
    }

    #[test]
    fn scopes_ask_for_modes() {
        assert_eq!(Scope::parse(None), Some(Scope::PortalRead));
        assert_eq!(Scope::parse(Some("portal:write")), Some(Scope::PortalWrite));
        assert_eq!(Scope::parse(Some("admin")), None);
        assert_eq!(Scope::PortalWrite.mode(), Mode::Full);
        assert_eq!(Scope::of_mode(Mode::ReadOnly).as_str(), "portal:read");
    }

    #[test]
    fn refusals_map_to_oauth_errors() {
        assert_eq!(OAuthError::from_refusal(&Refusal::NoConsent).error, "access_denied");
        assert_eq!(OAuthError::from_refusal(&Refusal::NoConsent).status, 403);
        assert_eq!(OAuthError::from_refusal(&Refusal::ReasonRequired).error, "invalid_request");
        assert_eq!(OAuthError::from_refusal(&Refusal::StoreRequired).status, 400);
        assert_eq!(OAuthError::from_refusal(&Refusal::FullModeNotAllowed).status, 403);
        assert_eq!(OAuthError::from_refusal(&Refusal::ReasonRequired).refusal, Some("reason_required"));
        assert_eq!(OAuthError::from_refusal(&Refusal::UnknownMode).error, "invalid_scope");
    }

    #[test]
    fn channels_round_trip() {
        for c in [Channel::Page, Channel::Api] {
            assert_eq!(Channel::parse(c.as_str()), c);
        }
        assert_eq!(Channel::parse("other"), Channel::Page);
        assert_eq!(Channel::Api.via(), "the API");
    }
}
