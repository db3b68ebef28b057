//! The settings of SPEC §3 (and the two-factor ones of §6): keys, defaults and validation.

use super::duration::HumanDuration;
use super::mode::Mode;
use super::two_factor::StaffTwoFactor;

/// One setting key with its default and the rule for its values.
pub struct SettingDef {
    pub key: &'static str,
    pub default: &'static str,
    pub help: &'static str,
    kind: Kind,
}

enum Kind {
    Bool,
    Duration,
    OneOf(&'static [&'static str]),
}

/// Every setting, in the order pages list them.
pub const DEFS: &[SettingDef] = &[
    SettingDef {
        key: "impersonation.enabled",
        default: "true",
        help: "Login as Client is available",
        kind: Kind::Bool,
    },
    SettingDef {
        key: "impersonation.consent",
        default: "not_required",
        help: "not_required, opt_in or opt_out",
        kind: Kind::OneOf(&["not_required", "opt_in", "opt_out"]),
    },
    SettingDef {
        key: "impersonation.default_mode",
        default: "read_only",
        help: "read_only or full",
        kind: Kind::OneOf(&["read_only", "full"]),
    },
    SettingDef {
        key: "impersonation.max_duration",
        default: "60m",
        help: "longest impersonation, such as 30m or 2h",
        kind: Kind::Duration,
    },
    SettingDef {
        key: "impersonation.idle_timeout",
        default: "15m",
        help: "ends an impersonation left idle this long",
        kind: Kind::Duration,
    },
    SettingDef {
        key: "impersonation.require_reason",
        default: "false",
        help: "staff must give a reason of at least 10 characters",
        kind: Kind::Bool,
    },
    SettingDef {
        key: "impersonation.store_selection",
        default: "automatic",
        help: "automatic or manual",
        kind: Kind::OneOf(&["automatic", "manual"]),
    },
    SettingDef {
        key: "impersonation.notify_client",
        default: "true",
        help: "tell the client in the portal and by e-mail",
        kind: Kind::Bool,
    },
    SettingDef {
        key: "impersonation.reauth_within",
        default: "12h",
        help: "Login as Client asks for a fresh code (or the password) when the last check is older than this",
        kind: Kind::Duration,
    },
    SettingDef {
        key: "security.staff_2fa",
        default: "off",
        help: "off, impersonators (roles holding clients.impersonate) or all: who must set up two-factor",
        kind: Kind::OneOf(&["off", "impersonators", "all"]),
    },
];

/// Checks a value for a key, returning it in canonical form or a message saying what is wrong.
pub fn validate(key: &str, value: &str) -> Result<String, String> {
    let def = DEFS
        .iter()
        .find(|d| d.key == key)
        .ok_or_else(|| format!("unknown setting '{}'", key.chars().take(60).collect::<String>()))?;
    let v = value.trim();
    match def.kind {
        Kind::Bool => match v {
            "true" | "false" => Ok(v.to_string()),
            _ => Err(format!("{key} must be true or false")),
        },
        Kind::Duration => HumanDuration::parse(v).map(|d| d.to_string()).map_err(|e| format!("{key}: {e}")),
        Kind::OneOf(options) => {
            if options.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(format!("{key} must be one of: {}", options.join(", ")))
            }
        }
    }
}

/// The value stored for `key` in canonical form, or the key's default when it is missing or not
/// valid: the one fallback for settings read as a whole ([`Settings::from_pairs`]) or singly
/// beside another query (the session reads).
pub fn value_or_default(key: &str, stored: Option<&str>) -> String {
    stored
        .and_then(|v| validate(key, v).ok())
        .unwrap_or_else(|| DEFS.iter().find(|d| d.key == key).map(|d| d.default).unwrap_or("").to_string())
}

/// A stored duration setting, or its default when missing or unreadable.
pub fn duration_or_default(key: &str, stored: Option<&str>) -> HumanDuration {
    HumanDuration::parse(&value_or_default(key, stored)).unwrap_or(HumanDuration(3600))
}

/// Consent policy for Login as Client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentPolicy {
    NotRequired,
    OptIn,
    OptOut,
}

/// The settings as typed values, read live from storage on each use.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub consent: ConsentPolicy,
    pub default_mode: Mode,
    pub max_duration: HumanDuration,
    pub idle_timeout: HumanDuration,
    pub require_reason: bool,
    pub manual_store: bool,
    pub notify_client: bool,
    /// How old the staff session's last password or code check may be at a Login as Client start.
    pub reauth_within: HumanDuration,
    /// Which staff must have two-factor.
    pub staff_2fa: StaffTwoFactor,
}

impl Settings {
    /// Builds typed settings from stored key/value pairs; missing or unreadable values fall back to defaults.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let stored = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let get = |key: &str| value_or_default(key, stored(key));
        let duration = |key: &str| duration_or_default(key, stored(key));
        Settings {
            enabled: get("impersonation.enabled") == "true",
            consent: match get("impersonation.consent").as_str() {
                "opt_in" => ConsentPolicy::OptIn,
                "opt_out" => ConsentPolicy::OptOut,
                _ => ConsentPolicy::NotRequired,
            },
            default_mode: if get("impersonation.default_mode") == "full" { Mode::Full } else { Mode::ReadOnly },
            max_duration: duration("impersonation.max_duration"),
            idle_timeout: duration("impersonation.idle_timeout"),
            require_reason: get("impersonation.require_reason") == "true",
            manual_store: get("impersonation.store_selection") == "manual",
            notify_client: get("impersonation.notify_client") == "true",
            reauth_within: duration("impersonation.reauth_within"),
            staff_2fa: StaffTwoFactor::parse(&get("security.staff_2fa")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_empty() {
        let s = Settings::from_pairs(&[]);
        assert!(s.enabled);
        assert_eq!(s.default_mode, Mode::ReadOnly);
        assert_eq!(s.max_duration.seconds(), 3600);
        assert_eq!(s.idle_timeout.seconds(), 900);
        assert_eq!(s.consent, ConsentPolicy::NotRequired);
        assert_eq!(s.reauth_within.seconds(), 12 * 3600);
        assert_eq!(s.staff_2fa, StaffTwoFactor::Off);
    }

    #[test]
    fn validation_is_strict() {
        assert_eq!(validate("impersonation.max_duration", " 2h ").unwrap(), "2h");
        assert!(validate("impersonation.max_duration", "-5m").is_err());
        assert!(validate("impersonation.enabled", "yes").is_err());
        assert!(validate("impersonation.default_mode", "admin").is_err());
        assert!(validate("nope", "1").is_err());
    }
}
