//! Webhook rules: the event types, which recorded action raises which event, endpoint URLs,
//! secrets and signatures (Standard Webhooks: HMAC-SHA256 over `id.timestamp.payload`), and the
//! backoff of deliveries that failed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a webhook endpoint may ask to be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    ImpersonationStarted,
    ImpersonationEnded,
    ImpersonationRefused,
    ConsentChanged,
    StaffChanged,
    RoleChanged,
    SettingsChanged,
    /// Sent by **Send test event** only; every endpoint receives it.
    Test,
}

impl EventType {
    /// The types an endpoint chooses from, in the order the page lists them.
    pub const CHOOSABLE: [EventType; 7] = [
        EventType::ImpersonationStarted,
        EventType::ImpersonationEnded,
        EventType::ImpersonationRefused,
        EventType::ConsentChanged,
        EventType::StaffChanged,
        EventType::RoleChanged,
        EventType::SettingsChanged,
    ];

    /// The `type` of the payload.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ImpersonationStarted => "impersonation.started",
            EventType::ImpersonationEnded => "impersonation.ended",
            EventType::ImpersonationRefused => "impersonation.refused",
            EventType::ConsentChanged => "consent.changed",
            EventType::StaffChanged => "staff.changed",
            EventType::RoleChanged => "role.changed",
            EventType::SettingsChanged => "settings.changed",
            EventType::Test => "webhook.test",
        }
    }

    /// Reads a type an endpoint may choose.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::CHOOSABLE.iter().copied().find(|e| e.as_str() == s)
    }

    /// The event a recorded action raises, by its activity group and action: every event is the
    /// activity entry of the same write, so it is enqueued in that write's transaction.
    pub fn of_activity(group: &str, action: &str) -> Option<EventType> {
        match (group, action) {
            ("login_as_client", "Staff impersonated client") => Some(EventType::ImpersonationStarted),
            ("login_as_client", "Login as Client ended") => Some(EventType::ImpersonationEnded),
            (_, "Changed support access consent") => Some(EventType::ConsentChanged),
            ("staff", "Staff account added" | "Staff account disabled" | "Staff role changed") => {
                Some(EventType::StaffChanged)
            }
            ("security", "Two-factor reset") => Some(EventType::StaffChanged),
            ("staff", "Role added" | "Role permissions changed") => Some(EventType::RoleChanged),
            ("settings", "Setting changed") => Some(EventType::SettingsChanged),
            _ => None,
        }
    }
}

/// Reads an endpoint's chosen types (the stored comma-separated list, or the form's values):
/// at least one, each known.
pub fn parse_events<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<EventType>, String> {
    let mut out = Vec::new();
    for v in values.into_iter().map(str::trim).filter(|v| !v.is_empty()) {
        let e = EventType::parse(v).ok_or_else(|| format!("'{v}' is not an event this server sends."))?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    if out.is_empty() {
        return Err("Choose at least one event.".into());
    }
    Ok(out)
}

/// The stored form of chosen types.
pub fn events_text(events: &[EventType]) -> String {
    events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")
}

/// Checks an endpoint URL: `http` or `https`, a host, at most 2,000 characters, no credentials.
pub fn endpoint_url(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    if text.len() > 2000 {
        return Err("The URL may have at most 2,000 characters.");
    }
    let url =
        url::Url::parse(text).map_err(|_| "Give the endpoint's full URL, such as https://siem.example.com/behalf.")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("The URL must start with https:// (or http://) and name a host.");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Put no credentials in the URL: the signature authenticates each delivery.");
    }
    Ok(url.to_string())
}

/// Prefix of a signing secret, as Standard Webhooks writes it.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(b))
}

/// The `webhook-signature` header for a message: `v1,` and the base64 HMAC-SHA256, keyed by the
/// secret's bytes, of `id.timestamp.payload`.
pub fn signature(secret: &str, message_id: &str, timestamp: i64, payload: &str) -> String {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).unwrap_or_default();
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC accepts any key length");
    mac.update(format!("{message_id}.{timestamp}.{payload}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// How long a delivery is retried before it is given up: a day.
pub const RETRY_FOR_SECONDS: i64 = 86400;

/// Seconds before the next try after `attempts` failures: `base` doubled per failure, at most an
/// hour apart.
pub fn retry_delay(attempts: i64, base: i64) -> i64 {
    base.max(1).saturating_mul(1_i64 << (attempts - 1).clamp(0, 20)).min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification.
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn actions_raise_their_events() {
        assert_eq!(
            EventType::of_activity("login_as_client", "Staff impersonated client"),
            Some(EventType::ImpersonationStarted)
        );
        assert_eq!(EventType::of_activity("settings", "Setting changed"), Some(EventType::SettingsChanged));
        assert_eq!(EventType::of_activity("tickets", "Replied to a ticket"), None);
        for e in EventType::CHOOSABLE {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
        }
        assert_eq!(EventType::parse("webhook.test"), None, "the test event is not chosen");
    }

    #[test]
    fn events_and_urls_are_checked() {
        assert_eq!(parse_events(["impersonation.started", "impersonation.started"]).unwrap().len(), 1);
        assert!(parse_events(["nope"]).is_err());
        assert!(parse_events([""]).is_err());
        assert!(endpoint_url("https://siem.example.com/hook").is_ok());
        assert!(endpoint_url("ftp://siem.example.com").is_err());
        assert!(endpoint_url("https://u:p@siem.example.com").is_err());
        assert!(endpoint_url("not a url").is_err());
    }

    #[test]
    fn retries_double_up_to_an_hour() {
        assert_eq!(retry_delay(1, 5), 5);
        assert_eq!(retry_delay(3, 5), 20);
        assert_eq!(retry_delay(100, 5), 3600);
        assert!(new_secret().starts_with("whsec_"));
    }
}
