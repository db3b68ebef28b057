//! Session and form tokens: how one is made, how it is recognised, and the only form of it that
//! is ever stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

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
}
