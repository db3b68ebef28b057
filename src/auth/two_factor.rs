//! Secrets for staff two-factor: new TOTP secrets, recovery codes and their stored hashes.

use crate::domain::two_factor::{RECOVERY_COUNT, RECOVERY_LEN};
use rand::Rng;
use sha2::{Digest, Sha256};

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh TOTP secret (160 random bits, as RFC 4226 recommends), in base32 without padding.
pub fn new_secret() -> String {
    // `to_encoded` always gives the `Encoded` form, whose Display is the base32 text.
    totp_rs::Secret::generate_secret().to_encoded().to_string()
}

/// Ten fresh recovery codes in canonical form (16 base32 characters, 80 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::thread_rng();
    (0..RECOVERY_COUNT).map(|_| (0..RECOVERY_LEN).map(|_| BASE32[rng.gen_range(0..32)] as char).collect()).collect()
}

/// The stored form of a canonical recovery code. 80 random bits make a fast hash safe; the
/// staff id in it means equal codes of two people never share a hash.
pub fn hash_recovery_code(staff_id: i64, code: &str) -> String {
    hex::encode(Sha256::digest(format!("behalf-recovery:{staff_id}:{code}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::two_factor::normalize_recovery;

    #[test]
    fn secrets_and_codes_have_their_shapes() {
        let s = new_secret();
        assert_eq!(s.len(), 32, "{s}");
        assert_ne!(s, new_secret());
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(normalize_recovery(c).as_deref(), Some(c.as_str()));
        }
        assert_ne!(hash_recovery_code(1, &codes[0]), hash_recovery_code(2, &codes[0]));
    }
}
