//! Plain types and rules of the product: permissions, settings, impersonation policy. No HTTP, no SQL.

pub mod acting;
pub mod activity;
pub mod api;
pub mod checkpoint;
pub mod conflict;
pub mod duration;
pub mod files;
pub mod impersonation;
pub mod lists;
pub mod mail;
pub mod mode;
pub mod modules;
pub mod money;
pub mod payments;
pub mod permissions;
pub mod session;
pub mod settings;
pub mod shop;
pub mod token;
pub mod two_factor;
pub mod webhooks;

/// Compares secrets (tokens, codes) without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Current time as Unix seconds; every stored time uses this unit.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM UTC` for pages.
pub fn format_time(ts: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "-".to_string())
}

/// Formats Unix seconds as `YYYY-MM-DD`.
pub fn format_date(ts: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "-".to_string())
}

/// Formats integer minor units as `12.34 USD`.
pub fn format_money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats_minor_units() {
        assert_eq!(format_money(12345, "USD"), "123.45 USD");
        assert_eq!(format_money(-5, "EUR"), "-0.05 EUR");
    }

    #[test]
    fn time_formats() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_date(86400), "1970-01-02");
    }
}
