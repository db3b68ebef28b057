//! Payment providers: the interface a real gateway would implement, the built-in test provider,
//! and card-number checks for saved payment methods (only the last four digits are ever kept).

/// Most saved payment methods one client may keep.
pub const MAX_PAYMENT_METHODS: i64 = 20;

/// One charge to make.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    pub amount_cents: i64,
    pub currency: &'a str,
    pub description: &'a str,
    /// Last four digits of the saved card used, if one was chosen.
    pub card_last4: Option<&'a str>,
    /// The one-time key of the pay form, passed on so a gateway can refuse a duplicate charge too.
    pub idempotency_key: &'a str,
}

/// Whether the provider took the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeStatus {
    Approved,
    Declined,
}

impl ChargeStatus {
    /// The value stored in `payments.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Approved => "succeeded",
            ChargeStatus::Declined => "declined",
        }
    }
}

/// What the provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeOutcome {
    pub status: ChargeStatus,
    /// The provider's own reference for the attempt.
    pub reference: String,
    /// A message for the client ("Approved", "Your card was declined.").
    pub message: String,
}

/// A payment gateway. Implementations must be safe to call with the same idempotency key twice.
pub trait PaymentProvider: Send + Sync {
    /// The name stored with payments and saved cards.
    fn name(&self) -> &'static str;
    /// Attempts one charge.
    fn charge(&self, req: &ChargeRequest<'_>) -> ChargeOutcome;
}

/// Card ending the test provider always declines (like the gateways' own test cards).
pub const TEST_DECLINE_LAST4: &str = "0002";

/// The built-in provider for demos and tests: it approves every charge except one made with a
/// saved card whose last four digits are `0002`, which it declines. No money moves.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestProvider;

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn charge(&self, req: &ChargeRequest<'_>) -> ChargeOutcome {
        let key: String = req.idempotency_key.chars().filter(char::is_ascii_alphanumeric).take(12).collect();
        if req.card_last4 == Some(TEST_DECLINE_LAST4) {
            ChargeOutcome {
                status: ChargeStatus::Declined,
                reference: format!("test_declined_{key}"),
                message: "Your card was declined. Try another payment method.".into(),
            }
        } else {
            ChargeOutcome {
                status: ChargeStatus::Approved,
                reference: format!("test_ch_{key}"),
                message: "Payment approved.".into(),
            }
        }
    }
}

/// The provider this build uses.
pub fn provider() -> &'static dyn PaymentProvider {
    &TestProvider
}

/// Checks a typed card number (spaces and dashes allowed, 12 to 19 digits, valid Luhn check
/// digit) and returns only its last four digits, the one part ever stored.
pub fn card_last4(raw: &str) -> Result<String, &'static str> {
    if raw.len() > 64 {
        return Err("Enter a card number of 12 to 19 digits.");
    }
    let digits: Vec<u32> = raw
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| c.to_digit(10).ok_or(()))
        .collect::<Result<_, _>>()
        .map_err(|_| "A card number has only digits (spaces and dashes are fine).")?;
    if !(12..=19).contains(&digits.len()) {
        return Err("Enter a card number of 12 to 19 digits.");
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                *d
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err("That card number is not valid; check it for typing mistakes.");
    }
    Ok(digits[digits.len() - 4..].iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(last4: Option<&str>) -> ChargeRequest<'_> {
        ChargeRequest {
            amount_cents: 100,
            currency: "USD",
            description: "INV-1",
            card_last4: last4,
            idempotency_key: "k1",
        }
    }

    #[test]
    fn test_provider_approves_and_declines_0002() {
        let p = TestProvider;
        assert_eq!(p.charge(&req(None)).status, ChargeStatus::Approved);
        assert_eq!(p.charge(&req(Some("4242"))).status, ChargeStatus::Approved);
        let d = p.charge(&req(Some("0002")));
        assert_eq!(d.status, ChargeStatus::Declined);
        assert!(d.message.contains("declined"));
        assert_eq!(p.charge(&req(None)), p.charge(&req(None)), "same key, same answer");
    }

    #[test]
    fn card_numbers_keep_only_last_four() {
        assert_eq!(card_last4("4242 4242 4242 4242").as_deref(), Ok("4242"));
        assert_eq!(card_last4("4000-0000-0000-0002").as_deref(), Ok("0002"));
        assert!(card_last4("4242 4242 4242 4241").is_err(), "bad check digit");
        assert!(card_last4("4242").is_err());
        assert!(card_last4("abcd efgh ijkl mnop").is_err());
        assert!(card_last4(&"4".repeat(100)).is_err());
        assert!(card_last4("").is_err());
    }
}
