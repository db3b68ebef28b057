//! Passwords, session tokens, cookies, CSRF and the request guards for staff and portal sessions.

pub mod guards;
pub mod password;
pub mod peer;
pub mod two_factor;

pub use password::{hash_password, verify_password};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Cookie holding the staff (admin) session token.
pub const STAFF_COOKIE: &str = "behalf_staff";
/// Cookie holding the portal session token (a client's own, or an impersonation).
pub const CLIENT_COOKIE: &str = "behalf_client";
/// Cookie holding the token that protects the sign-in forms before any session exists.
pub const LOGIN_CSRF_COOKIE: &str = "behalf_csrf";

/// A fresh random token (256 bits, hex).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Whether `value` has the shape of a token [`new_token`] made (64 lowercase hex digits). The
/// pre-sign-in CSRF cookie is believed only then, so a value an attacker planted, such as `x`,
/// is replaced rather than echoed into the form.
pub fn is_issued_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The stored form of a session token: only its SHA-256 is ever written to the database.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub use crate::domain::constant_time_eq;

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
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token());
        assert_ne!(hash_token(&a), a);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert!(is_issued_token(&a));
        assert!(!is_issued_token("x"));
        assert!(!is_issued_token(&a.to_uppercase()));
        assert!(!is_issued_token(&format!("{}g", &a[1..])));
    }

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
