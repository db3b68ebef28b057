//! Human durations for settings (`90s`, `30m`, `2h`, `1d`), parsed strictly.

use std::fmt;

/// A positive duration in whole seconds, parsed from forms like `90s`, `30m`, `2h`, `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub i64);

/// Longest duration any setting accepts: seven days.
pub const MAX_SECONDS: i64 = 7 * 24 * 3600;

impl HumanDuration {
    /// Parses `N` followed by one unit of `s`, `m`, `h` or `d`, between 1 second and 7 days.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let err = || {
            format!("'{}' is not a duration: use a whole number followed by s, m, h or d, such as 90s, 30m or 2h (at most 7d)", truncate(s))
        };
        if s.len() < 2 || s.len() > 12 {
            return Err(err());
        }
        let (digits, unit) = s.split_at(s.len() - 1);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let n: i64 = digits.parse().map_err(|_| err())?;
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(err()),
        };
        let secs = n.checked_mul(mult).ok_or_else(err)?;
        if !(1..=MAX_SECONDS).contains(&secs) {
            return Err(err());
        }
        Ok(HumanDuration(secs))
    }

    /// Whole seconds.
    pub fn seconds(self) -> i64 {
        self.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s % 86400 == 0 {
            write!(f, "{}d", s / 86400)
        } else if s % 3600 == 0 {
            write!(f, "{}h", s / 3600)
        } else if s % 60 == 0 {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(20).collect()
}

/// Says how long is left in words, such as `59 min` or `45 s`.
pub fn describe_remaining(seconds: i64) -> String {
    if seconds <= 0 {
        "0 min".to_string()
    } else if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3600 {
        format!("{} min", seconds / 60)
    } else {
        format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(HumanDuration::parse("90s").unwrap().seconds(), 90);
        assert_eq!(HumanDuration::parse("30m").unwrap().seconds(), 1800);
        assert_eq!(HumanDuration::parse("2h").unwrap().seconds(), 7200);
        assert_eq!(HumanDuration::parse("1d").unwrap().seconds(), 86400);
    }

    #[test]
    fn refuses_bad_input() {
        for bad in ["", "5", "-5m", "10y", "0m", "8d", "m", "1.5h", "99999999999999h", "5 m"] {
            assert!(HumanDuration::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn displays_in_largest_unit() {
        assert_eq!(HumanDuration(3600).to_string(), "1h");
        assert_eq!(HumanDuration(90).to_string(), "90s");
        assert_eq!(HumanDuration(900).to_string(), "15m");
    }
}
