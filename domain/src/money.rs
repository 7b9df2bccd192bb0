//! Money in whole cents, so totals and the approval threshold are exact. Dollars (as
//! `f64`) exist only at the edges: the seed's JSON (`cost`, `unit_cost`, `total`) and
//! what a person types.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in whole cents.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct Cents(pub i64);

impl Cents {
    /// Orders whose total is below this are approved without a human ($1,000.00).
    pub const APPROVAL_THRESHOLD: Cents = Cents(100_000);
    /// $10,000,000 a unit: anything above is a typo, not a purchase.
    pub const MAX_UNIT_COST: Cents = Cents(1_000_000_000);

    /// Dollars as a caller sent them, rounded to the nearest cent. Whether the amount
    /// had more than two decimals is [`parse_unit_cost`](crate::parse_unit_cost)'s
    /// business.
    pub fn from_dollars(dollars: f64) -> Self {
        Self((dollars * 100.0).round() as i64)
    }

    pub fn dollars(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// `self × quantity`; saturates instead of wrapping (validated inputs never get near).
    pub fn times(self, quantity: i64) -> Self {
        Self(self.0.saturating_mul(quantity))
    }
}

/// `$1,234.50`: amounts are shown the same way on the server and in the browser.
impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let cents = self.0.unsigned_abs();
        write!(
            f,
            "{sign}${}.{:02}",
            group_thousands(cents / 100),
            cents % 100
        )
    }
}

/// `1,000,000`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Cents;

    #[test]
    fn money_is_grouped() {
        assert_eq!(Cents(123_456_789).to_string(), "$1,234,567.89");
        assert_eq!(Cents(5).to_string(), "$0.05");
        assert_eq!(Cents(100_000).to_string(), "$1,000.00");
        assert_eq!(Cents(-250).to_string(), "-$2.50");
    }

    #[test]
    fn dollars_round_trip_exactly() {
        assert_eq!(Cents::from_dollars(0.1), Cents(10));
        assert_eq!(Cents::from_dollars(0.1).times(10_000), Cents(100_000));
        assert_eq!(Cents::from_dollars(1234.5).dollars(), 1234.5);
        assert_eq!(Cents::from_dollars(999.99), Cents(99_999));
    }
}
