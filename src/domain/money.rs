//! Money and quantities: parsing what people type into integer minor units and whole
//! quantities, and totals with checked arithmetic so an overflow is a message, never a panic.

/// Largest quantity of one product in a cart line.
pub const MAX_QUANTITY: i64 = 1000;

/// Why a typed number or a total was refused; `message` is what the person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a whole number at all (letters, decimals, empty).
    NotANumber,
    /// A whole number outside the allowed range (negative, too large, overflowing).
    OutOfRange { min: i64, max: i64 },
    /// A total larger than the system can hold.
    Overflow,
    /// An amount that is not a valid price such as `12.34`.
    BadAmount,
}

impl MoneyError {
    /// What the person reads on the page.
    pub fn message(self) -> String {
        match self {
            MoneyError::NotANumber => "Enter the quantity as a whole number.".to_string(),
            MoneyError::OutOfRange { min, max } => format!("The quantity must be a whole number from {min} to {max}."),
            MoneyError::Overflow => {
                "That total is too large to process. Lower the quantities and try again.".to_string()
            }
            MoneyError::BadAmount => {
                "Enter the amount as a number with at most two decimals, such as 12.34.".to_string()
            }
        }
    }
}

/// Parses a quantity typed into a form and checks it lies in `min..=max`.
pub fn parse_quantity(raw: &str, min: i64, max: i64) -> Result<i64, MoneyError> {
    let s = raw.trim();
    let digits = s.strip_prefix('+').unwrap_or(s);
    let (neg, digits) = match digits.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, digits),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::NotANumber);
    }
    // A long run of digits is out of range, not "not a number", whatever i64 can hold.
    let n = match digits.parse::<i64>() {
        Ok(n) if !neg => n,
        _ => return Err(MoneyError::OutOfRange { min, max }),
    };
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(MoneyError::OutOfRange { min, max })
    }
}

/// A quantity to add to the cart: 1 to [`MAX_QUANTITY`].
pub fn parse_add_quantity(raw: &str) -> Result<i64, MoneyError> {
    parse_quantity(raw, 1, MAX_QUANTITY)
}

/// A new quantity for a cart line: 0 (removes the line) to [`MAX_QUANTITY`].
pub fn parse_set_quantity(raw: &str) -> Result<i64, MoneyError> {
    parse_quantity(raw, 0, MAX_QUANTITY)
}

/// Parses an amount such as `12`, `12.3` or `12.34` into minor units (hundredths).
pub fn parse_amount(raw: &str) -> Result<i64, MoneyError> {
    let s = raw.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(frac) || frac.len() > 2 || s.ends_with('.') {
        return Err(MoneyError::BadAmount);
    }
    let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
    let frac: i64 =
        if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| MoneyError::BadAmount)? };
    whole.checked_mul(100).and_then(|w| w.checked_add(frac)).ok_or(MoneyError::Overflow)
}

/// The amount of one line: unit price times quantity, refusing overflow.
pub fn line_amount(unit_cents: i64, quantity: i64) -> Result<i64, MoneyError> {
    unit_cents.checked_mul(quantity).ok_or(MoneyError::Overflow)
}

/// The sum of line amounts, refusing overflow.
pub fn total(amounts: impl IntoIterator<Item = i64>) -> Result<i64, MoneyError> {
    amounts.into_iter().try_fold(0i64, |acc, a| acc.checked_add(a).ok_or(MoneyError::Overflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_range_parse() {
        assert_eq!(parse_add_quantity("1"), Ok(1));
        assert_eq!(parse_add_quantity(" 1000 "), Ok(1000));
        assert_eq!(parse_add_quantity("+3"), Ok(3));
        assert_eq!(parse_set_quantity("0"), Ok(0));
        assert_eq!(parse_set_quantity("007"), Ok(7));
    }

    #[test]
    fn bad_quantities_are_refused() {
        let add = MoneyError::OutOfRange { min: 1, max: MAX_QUANTITY };
        assert_eq!(parse_add_quantity("0"), Err(add));
        assert_eq!(parse_add_quantity("-1"), Err(add));
        assert_eq!(parse_add_quantity("1001"), Err(add));
        assert_eq!(parse_add_quantity("99999999999999999999999"), Err(add));
        assert_eq!(parse_add_quantity("-99999999999999999999999"), Err(add));
        assert_eq!(parse_set_quantity("-0"), Err(MoneyError::OutOfRange { min: 0, max: MAX_QUANTITY }));
        for bad in ["", " ", "abc", "1.5", "1e3", "--1", "12a", "0x10", "١"] {
            assert_eq!(parse_add_quantity(bad), Err(MoneyError::NotANumber), "{bad:?}");
        }
        assert!(add.message().contains("from 1 to 1000"));
    }

    #[test]
    fn amounts_parse_to_minor_units() {
        assert_eq!(parse_amount("12"), Ok(1200));
        assert_eq!(parse_amount("12.3"), Ok(1230));
        assert_eq!(parse_amount("12.34"), Ok(1234));
        assert_eq!(parse_amount("0.05"), Ok(5));
        for bad in ["", ".5", "12.", "12.345", "-1", "1,00", "abc", "1.2.3"] {
            assert_eq!(parse_amount(bad), Err(MoneyError::BadAmount), "{bad:?}");
        }
        assert_eq!(parse_amount("99999999999999999999"), Err(MoneyError::Overflow));
        assert_eq!(parse_amount("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(parse_amount("92233720368547758.08"), Err(MoneyError::Overflow));
    }

    #[test]
    fn totals_use_checked_arithmetic() {
        assert_eq!(line_amount(499, 3), Ok(1497));
        assert_eq!(line_amount(i64::MAX, 2), Err(MoneyError::Overflow));
        assert_eq!(total([1, 2, 3]), Ok(6));
        assert_eq!(total([]), Ok(0));
        assert_eq!(total([i64::MAX, 1]), Err(MoneyError::Overflow));
    }
}
