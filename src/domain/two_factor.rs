//! Staff two-factor rules: who must have it, TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s) that
//! are never accepted twice, the shape of recovery codes, and when a start needs a fresh check.

use super::permissions::{Grants, Permission};
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per time step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Characters of a recovery code (base32, so 80 bits).
pub const RECOVERY_LEN: usize = 16;
/// Recovery codes handed out at enrolment.
pub const RECOVERY_COUNT: usize = 10;

/// The `security.staff_2fa` setting: which staff must have two-factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffTwoFactor {
    /// Nobody is forced; staff may still enrol.
    Off,
    /// Every role holding `clients.impersonate`.
    Impersonators,
    /// All staff.
    All,
}

impl StaffTwoFactor {
    /// Parses the stored form; anything unknown is `Off` (settings are validated on the way in).
    pub fn parse(s: &str) -> Self {
        match s {
            "impersonators" => StaffTwoFactor::Impersonators,
            "all" => StaffTwoFactor::All,
            _ => StaffTwoFactor::Off,
        }
    }

    /// Whether a staff member with these grants must have two-factor.
    pub fn applies_to(self, grants: &Grants) -> bool {
        match self {
            StaffTwoFactor::Off => false,
            StaffTwoFactor::Impersonators => grants.has(Permission::ClientsImpersonate),
            StaffTwoFactor::All => true,
        }
    }
}

/// The outcome of checking a submitted code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right, at this time step (store it as the last accepted one).
    Accepted(i64),
    /// Not a code of this secret around now.
    Wrong,
    /// Right, but its time step was already used.
    Replayed,
}

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP as u64, bytes).ok()
}

/// Whether the input looks like an authenticator code (six digits, spaces allowed).
pub fn is_code_shaped(input: &str) -> bool {
    let d: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    d.len() == DIGITS && d.bytes().all(|b| b.is_ascii_digit())
}

/// The code of this secret at a time step (what an authenticator app shows).
pub fn code_at(secret_b32: &str, step: i64) -> Option<String> {
    Some(totp(secret_b32)?.generate(u64::try_from(step * STEP).ok()?))
}

/// Checks a code against the step of `now` and one step either side (clock drift), refusing a
/// step at or before `last_step`, so a code seen once (or an older one) cannot be used again.
pub fn check_code(secret_b32: &str, input: &str, now: i64, last_step: Option<i64>) -> CodeCheck {
    if !is_code_shaped(input) {
        return CodeCheck::Wrong;
    }
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(t) = totp(secret_b32) else { return CodeCheck::Wrong };
    let current = now / STEP;
    let mut matched = None;
    for step in current - 1..=current + 1 {
        let Ok(at) = u64::try_from(step * STEP) else { continue };
        if super::constant_time_eq(&t.generate(at), &code) {
            matched = Some(step);
        }
    }
    match matched {
        None => CodeCheck::Wrong,
        Some(step) if last_step.is_some_and(|last| step <= last) => CodeCheck::Replayed,
        Some(step) => CodeCheck::Accepted(step),
    }
}

/// A recovery code in its canonical form (upper case, no dashes or spaces), if it has the shape of one.
pub fn normalize_recovery(input: &str) -> Option<String> {
    let c: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    (c.len() == RECOVERY_LEN && c.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))).then_some(c)
}

/// A canonical recovery code grouped for reading: `ABCD-EFGH-IJKL-MNOP`.
pub fn display_recovery(code: &str) -> String {
    code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// Whether a session whose last password or code check was at `verified_at` must check again
/// before Login as Client, under `impersonation.reauth_within` (seconds).
pub fn needs_step_up(verified_at: i64, within: i64, now: i64) -> bool {
    now - verified_at > within
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret_b32: &str, email: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(ISSUER),
        enc(email),
        enc(ISSUER)
    )
}

/// The issuer name authenticator apps show.
pub const ISSUER: &str = "Behalf";

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // RFC 6238's "12345678901234567890"

    #[test]
    fn rfc_6238_vectors() {
        // RFC 6238 appendix B (SHA-1), last six digits.
        assert_eq!(code_at(SECRET, 59 / STEP).unwrap(), "287082");
        assert_eq!(code_at(SECRET, 1111111109 / STEP).unwrap(), "081804");
        assert_eq!(code_at(SECRET, 2000000000 / STEP).unwrap(), "279037");
    }

    #[test]
    fn codes_are_accepted_once_with_one_step_of_drift() {
        let now = 1_700_000_000;
        let step = now / STEP;
        let code = code_at(SECRET, step).unwrap();
        assert_eq!(check_code(SECRET, &code, now, None), CodeCheck::Accepted(step));
        assert_eq!(check_code(SECRET, &code, now, Some(step)), CodeCheck::Replayed);
        assert_eq!(check_code(SECRET, &code, now + STEP, Some(step - 1)), CodeCheck::Accepted(step));
        assert_eq!(check_code(SECRET, &code, now + 3 * STEP, None), CodeCheck::Wrong);
        let next = code_at(SECRET, step + 1).unwrap();
        assert_eq!(check_code(SECRET, &next, now, Some(step)), CodeCheck::Accepted(step + 1));
        assert_eq!(check_code(SECRET, "12345", now, None), CodeCheck::Wrong);
        assert_eq!(check_code(SECRET, "abcdef", now, None), CodeCheck::Wrong);
        assert_eq!(check_code("not base32!", "123456", now, None), CodeCheck::Wrong);
    }

    #[test]
    fn policy_follows_the_impersonation_permission() {
        let imp = Grants::from_iter([Permission::ClientsImpersonate]);
        let other = Grants::from_iter([Permission::ClientsView]);
        assert!(StaffTwoFactor::Impersonators.applies_to(&imp));
        assert!(!StaffTwoFactor::Impersonators.applies_to(&other));
        assert!(StaffTwoFactor::All.applies_to(&other));
        assert!(!StaffTwoFactor::Off.applies_to(&imp));
        assert_eq!(StaffTwoFactor::parse("bogus"), StaffTwoFactor::Off);
    }

    #[test]
    fn recovery_codes_read_loosely() {
        assert_eq!(normalize_recovery("abcd-efgh ijkl-mn23").as_deref(), Some("ABCDEFGHIJKLMN23"));
        assert_eq!(normalize_recovery("ABCD-EFGH-IJKL-MN01"), None, "0 and 1 are not base32");
        assert_eq!(normalize_recovery("123456"), None);
        assert_eq!(display_recovery("ABCDEFGHIJKLMN23"), "ABCD-EFGH-IJKL-MN23");
    }

    #[test]
    fn step_up_after_the_window() {
        assert!(!needs_step_up(1000, 3600, 4600));
        assert!(needs_step_up(1000, 3600, 4601));
    }

    #[test]
    fn otpauth_names_issuer_and_account() {
        let u = otpauth_uri("ABC", "alice@example.com");
        assert_eq!(
            u,
            "otpauth://totp/Behalf:alice%40example.com?secret=ABC&issuer=Behalf&algorithm=SHA1&digits=6&period=30"
        );
    }
}
