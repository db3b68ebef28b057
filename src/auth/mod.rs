//! Passwords, session tokens, cookies, CSRF and the request guards for staff and portal sessions.

pub mod api_keys;
pub mod guards;
pub mod login_as_client;
pub mod password;
pub mod peer;
pub mod two_factor;

pub use password::{hash_password, verify_password};

/// Cookie holding the staff (admin) session token.
pub const STAFF_COOKIE: &str = "behalf_staff";
/// Cookie holding the portal session token (a client's own, or an impersonation).
pub const CLIENT_COOKIE: &str = "behalf_client";
/// Cookie holding the token that protects the sign-in forms before any session exists.
pub const LOGIN_CSRF_COOKIE: &str = "behalf_csrf";

pub use crate::domain::constant_time_eq;
pub use crate::domain::token::{hash_token, is_issued_token, new_token};

/// A session about to be opened: the token its cookie carries, the only form of it the database
/// keeps, and the session's own CSRF token. Every sign-in, two-factor step and Login as Client
/// start opens its session from one, so a session is never opened with a reused secret.
pub struct FreshSession {
    pub token: String,
    pub token_hash: String,
    pub csrf_token: String,
}

impl FreshSession {
    /// New random secrets.
    pub fn new() -> Self {
        let token = new_token();
        FreshSession { token_hash: hash_token(&token), token, csrf_token: new_token() }
    }

    /// The `Set-Cookie` value that hands the token to the browser.
    pub fn cookie(&self, name: &str, secure: bool) -> String {
        set_cookie(name, &self.token, secure)
    }

    /// A full staff session that lasts `seconds` from now.
    pub fn staff_session(&self, seconds: i64) -> crate::store::two_factor::NewStaffSession<'_> {
        crate::store::two_factor::NewStaffSession {
            token_hash: &self.token_hash,
            csrf_token: &self.csrf_token,
            expires_at: crate::domain::now() + seconds,
        }
    }
}

impl Default for FreshSession {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads one cookie from a `Cookie` header value.
pub fn read_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|p| p.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// A `Set-Cookie` value for a browser-session cookie (no Max-Age: it dies with the browser).
pub fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{}", if secure { "; Secure" } else { "" })
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}", if secure { "; Secure" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing() {
        let h = "a=1; behalf_client=xyz; behalf_staff=abc";
        assert_eq!(read_cookie(h, "behalf_client"), Some("xyz"));
        assert_eq!(read_cookie(h, "behalf_staff"), Some("abc"));
        assert_eq!(read_cookie(h, "nope"), None);
        assert!(set_cookie("x", "y", true).contains("HttpOnly; SameSite=Lax; Secure"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
