//! Passwords, session tokens, cookies, CSRF and the request guards for staff and portal sessions.

pub mod guards;

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

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

/// The stored form of a session token: only its SHA-256 is ever written to the database.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares secrets without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Work for the password thread.
enum PasswordJob {
    Hash(String, tokio::sync::oneshot::Sender<String>),
    Verify(String, Option<String>, tokio::sync::oneshot::Sender<bool>),
}

/// All Argon2id work runs on one dedicated thread: it keeps hashing off the async workers, and
/// because each hash needs about 19 MiB, one thread means one reused buffer instead of one
/// retained per blocking thread (which grew the process past 100 MB under parallel sign-ins).
/// Sign-ins queue behind each other, which also bounds what a flood of them can cost.
fn password_thread() -> &'static std::sync::mpsc::Sender<PasswordJob> {
    static SENDER: OnceLock<std::sync::mpsc::Sender<PasswordJob>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<PasswordJob>();
        std::thread::Builder::new()
            .name("behalf-passwords".into())
            .spawn(move || {
                for job in rx {
                    match job {
                        PasswordJob::Hash(pw, reply) => {
                            let _ = reply.send(password_auth::generate_hash(pw));
                        }
                        PasswordJob::Verify(pw, hash, reply) => {
                            let found = hash.is_some();
                            let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
                            let _ = reply
                                .send(password_auth::verify_password(pw, &hash).is_ok() && found);
                        }
                    }
                }
            })
            .expect("start the password thread");
        tx
    })
}

/// Hashes a password with Argon2id on the password thread.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    password_thread()
        .send(PasswordJob::Hash(password, tx))
        .map_err(|_| anyhow::anyhow!("password thread stopped"))?;
    Ok(rx.await?)
}

/// Verifies a password on the password thread. With no stored hash (unknown account) it checks a
/// dummy hash, so unknown e-mails and wrong passwords cost the same time.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if password_thread()
        .send(PasswordJob::Verify(password, hash, tx))
        .is_err()
    {
        return false;
    }
    rx.await.unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| password_auth::generate_hash(new_token()))
}

/// Reads one cookie from a `Cookie` header value.
pub fn read_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for a browser-session cookie (no Max-Age: it dies with the browser).
pub fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    format!(
        "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
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
