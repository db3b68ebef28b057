//! Mail delivery rules: how long a message whose sending failed waits before its next try.

/// Seconds before the next try after `attempts` failures: 30 s doubled per failure, capped at an
/// hour, plus `jitter` (0.0–1.0) of a tenth more, so nodes that failed together do not retry in step.
pub fn retry_delay(attempts: i64, jitter: f64) -> i64 {
    let base = 30_i64.saturating_mul(1_i64 << (attempts - 1).clamp(0, 20)).min(3600);
    base + (base as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::retry_delay;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_an_hour() {
        assert_eq!(retry_delay(1, 0.0), 30);
        assert_eq!(retry_delay(2, 0.0), 60);
        assert_eq!(retry_delay(3, 0.0), 120);
        assert_eq!(retry_delay(7, 0.0), 1920);
        assert_eq!(retry_delay(8, 0.0), 3600);
        assert_eq!(retry_delay(1_000_000, 0.0), 3600);
        assert_eq!(retry_delay(0, 0.0), 30);
        assert_eq!(retry_delay(1, 1.0), 33);
        assert_eq!(retry_delay(8, 1.0), 3960);
    }
}
