//! Orders as the API and the pages show them, and how times cross the wire.

use serde::{Deserialize, Serialize};

use crate::money::Cents;
use crate::status::OrderStatus;

/// Times on the wire are RFC 3339, as chrono writes them. They are read back with
/// chrono's RFC 3339 parser rather than its general one (`FromStr`), which would bring
/// the whole format-string machinery into the WASM bundle for no gain.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{de::Error, Deserialize, Deserializer};

    pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }

    pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse(&s).map_err(D::Error::custom))
            .transpose()
    }

    fn parse(s: &str) -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("not an RFC 3339 time ({e}): {s:?}"))
    }
}

/// An order as the API and the pages show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub instance_id: String,
    pub order_id: String,
    pub product: String,
    pub quantity: i64,
    /// In dollars on the wire, as the seed has it.
    #[serde(with = "dollars")]
    #[cfg_attr(feature = "ssr", schema(value_type = f64))]
    pub unit_cost: Cents,
    /// Unit cost × quantity, in dollars on the wire.
    #[serde(with = "dollars")]
    #[cfg_attr(feature = "ssr", schema(value_type = f64))]
    pub total: Cents,
    pub status: OrderStatus,
    #[serde(deserialize_with = "rfc3339::de")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the workflow's approval timer fires (workflow clock); only for orders that
    /// needed approval.
    #[serde(default, deserialize_with = "rfc3339::de_opt")]
    pub approval_deadline: Option<chrono::DateTime<chrono::Utc>>,
    pub decided_by: Option<String>,
    #[serde(default, deserialize_with = "rfc3339::de_opt")]
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who submitted the order (absent for orders from before accounts existed).
    pub requested_by: Option<String>,
    /// The deciding manager's comment, if any.
    pub comment: Option<String>,
    /// Something is wrong with this order that an operator has to look at (a failed
    /// workflow, a state Dapr cannot load, a deadline long past with no outcome).
    #[serde(default)]
    pub needs_attention: bool,
    // The three below are the API's; the pages' lists word them on the server (`note`),
    // as each would cost the browser's bundle its decoding.
    /// Who holds the level it waits at (claimed it, or had it assigned); only while it
    /// waits, and left out when nobody does.
    #[cfg(feature = "ssr")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// A question to the requester waits for their answer (in the order's thread).
    #[cfg(feature = "ssr")]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub question_open: bool,
    /// How many files are attached (the quote and the like).
    #[cfg(feature = "ssr")]
    #[serde(default, skip_serializing_if = "crate::view::is_zero")]
    pub attachments: u8,
    /// The pages' lists only (empty, and left out, in the API): who asked for it,
    /// whether a question to them is open, how many files it carries and who holds
    /// it, in one text ("alice · question open · 2 files · held by bob").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub note: String,
}

#[cfg(feature = "ssr")]
fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl OrderView {
    pub fn status_label(&self) -> String {
        if self.needs_attention {
            return "Needs attention".into();
        }
        self.status.label(self.decided_by.as_deref())
    }
}

/// [`Cents`] as a number of dollars on the wire (`1234.5`), where the seed's JSON has them.
mod dollars {
    use super::Cents;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(cents: &Cents, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(cents.dollars())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cents, D::Error> {
        f64::deserialize(d).map(Cents::from_dollars)
    }
}

/// One line of the report on a bulk decision: how one selected order stands now for
/// the manager who decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkLine {
    pub instance_id: String,
    /// `None` when there is no such order for them.
    pub order_id: Option<String>,
    /// Decided by them (or on its way to be).
    pub decided: bool,
    pub text: String,
}
