//! The purchase-order domain shared by server and browser: validated inputs, statuses
//! and the wire types the API and the pages exchange. Nothing here touches I/O.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Orders whose total is below this many cents are approved without a human.
pub const APPROVAL_THRESHOLD_CENTS: i64 = 100_000;
pub const MAX_ORDER_ID_LEN: usize = 64;
pub const MAX_PRODUCT_LEN: usize = 200;
pub const MAX_QUANTITY: i64 = 1_000_000;
/// $10,000,000 a unit: anything above is a typo, not a purchase.
pub const MAX_UNIT_COST_CENTS: i64 = 1_000_000_000;

/// The workflow instance id is derived from the order id, so a repeated order id can
/// never start a second workflow.
pub fn instance_id_for(order_id: &OrderId) -> String {
    format!("po-{}", order_id.as_str())
}

/// What a caller sent, field by field, before validation (the seed's request body).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StartOrderRequest {
    /// `[A-Za-z0-9._-]{1,64}`; the workflow instance id is `po-{order_id}`.
    #[cfg_attr(feature = "ssr", schema(example = "order123"))]
    pub order_id: String,
    /// Unit cost in dollars, at most two decimals.
    #[cfg_attr(feature = "ssr", schema(example = 500.0))]
    pub cost: f64,
    #[cfg_attr(feature = "ssr", schema(example = "Widget"))]
    pub product: String,
    #[cfg_attr(feature = "ssr", schema(example = 2))]
    pub quantity: i64,
}

/// One problem with one field, phrased for the person who typed it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, thiserror::Error)]
#[error("{}", summary(.0))]
pub struct ValidationErrors(pub Vec<FieldError>);

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationErrors {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Enter an order ID.".into());
        }
        if raw.len() > MAX_ORDER_ID_LEN {
            return Err(format!(
                "Use at most {MAX_ORDER_ID_LEN} characters (this one has {}).",
                raw.chars().count()
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "Use only letters, digits, '.', '_' and '-' (found {bad:?})."
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Money is kept in whole cents so totals and the approval threshold are exact.
pub fn parse_unit_cost(cost: f64) -> Result<i64, String> {
    if !cost.is_finite() {
        return Err("Enter the unit cost as a number, e.g. 12.50.".into());
    }
    if cost <= 0.0 {
        return Err("The unit cost must be more than $0.".into());
    }
    let cents = (cost * 100.0).round();
    if cents > MAX_UNIT_COST_CENTS as f64 {
        return Err(format!(
            "The unit cost must be at most {}.",
            format_money(MAX_UNIT_COST_CENTS)
        ));
    }
    if (cents - cost * 100.0).abs() > 1e-6 * cents.max(1.0) {
        return Err("Use at most two decimal places for the unit cost.".into());
    }
    if cents < 1.0 {
        return Err("The unit cost must be at least $0.01.".into());
    }
    Ok(cents as i64)
}

pub fn parse_quantity(quantity: i64) -> Result<i64, String> {
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(format!(
            "The quantity must be a whole number from 1 to {}.",
            group_thousands(MAX_QUANTITY)
        ));
    }
    Ok(quantity)
}

pub fn parse_product(product: &str) -> Result<String, String> {
    let product = product.trim();
    if product.is_empty() {
        return Err("Enter the product name.".into());
    }
    let len = product.chars().count();
    if len > MAX_PRODUCT_LEN {
        return Err(format!(
            "Use at most {MAX_PRODUCT_LEN} characters for the product (this one has {len})."
        ));
    }
    if product.chars().any(char::is_control) {
        return Err("The product name cannot contain control characters.".into());
    }
    Ok(product.to_owned())
}

/// An order that passed every check; the rest of the code trusts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub product: String,
    pub quantity: i64,
    pub unit_cost_cents: i64,
}

impl NewOrder {
    pub fn parse(request: &StartOrderRequest) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let order_id = OrderId::parse(&request.order_id)
            .map_err(|m| errors.push("order_id", m))
            .ok();
        let unit_cost_cents = parse_unit_cost(request.cost)
            .map_err(|m| errors.push("cost", m))
            .ok();
        let product = parse_product(&request.product)
            .map_err(|m| errors.push("product", m))
            .ok();
        let quantity = parse_quantity(request.quantity)
            .map_err(|m| errors.push("quantity", m))
            .ok();
        match (order_id, product, quantity, unit_cost_cents) {
            (Some(order_id), Some(product), Some(quantity), Some(unit_cost_cents)) => Ok(Self {
                order_id,
                product,
                quantity,
                unit_cost_cents,
            }),
            _ => Err(errors),
        }
    }

    pub fn total_cents(&self) -> i64 {
        self.unit_cost_cents * self.quantity
    }

    pub fn needs_approval(&self) -> bool {
        self.total_cents() >= APPROVAL_THRESHOLD_CENTS
    }

    pub fn instance_id(&self) -> String {
        instance_id_for(&self.order_id)
    }
}

/// Parses the order form's text fields, reporting every problem at once with the same
/// rules as the JSON API.
pub fn parse_form(
    order_id: &str,
    product: &str,
    unit_cost: &str,
    quantity: &str,
) -> Result<NewOrder, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let cost_text: String = unit_cost
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let cost = match cost_text.trim().parse::<f64>() {
        Ok(cost) => cost,
        Err(_) => {
            errors.push(
                "cost",
                if cost_text.trim().is_empty() {
                    "Enter the unit cost, e.g. 12.50."
                } else {
                    "Enter the unit cost as a number, e.g. 12.50."
                },
            );
            f64::NAN
        }
    };
    let quantity = match quantity.trim().parse::<i64>() {
        Ok(q) => q,
        Err(_) => {
            errors.push(
                "quantity",
                format!(
                    "The quantity must be a whole number from 1 to {}.",
                    group_thousands(MAX_QUANTITY)
                ),
            );
            1
        }
    };
    let request = StartOrderRequest {
        order_id: order_id.to_owned(),
        cost: if cost.is_nan() { 1.0 } else { cost },
        product: product.to_owned(),
        quantity,
    };
    match NewOrder::parse(&request) {
        Ok(order) if errors.0.is_empty() => Ok(order),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.0.extend(more.0);
            Err(errors)
        }
    }
}

/// Where an order stands in the read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted by us; the workflow has not reported yet.
    Submitted,
    AwaitingApproval,
    AutoApproved,
    Approved,
    Rejected,
    TimedOut,
    Failed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        Self::Submitted,
        Self::AwaitingApproval,
        Self::AutoApproved,
        Self::Approved,
        Self::Rejected,
        Self::TimedOut,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::AwaitingApproval => "awaiting_approval",
            Self::AutoApproved => "auto_approved",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Self::Submitted | Self::AwaitingApproval)
    }

    /// The status in words, as a person reads it.
    pub fn label(self, decided_by: Option<&str>) -> String {
        let by = decided_by.unwrap_or("a manager");
        match self {
            Self::Submitted => "Submitted".into(),
            Self::AwaitingApproval => "Waiting for approval".into(),
            Self::AutoApproved => "Auto-approved".into(),
            Self::Approved => format!("Approved by {by}"),
            Self::Rejected => format!("Rejected by {by}"),
            Self::TimedOut => "Cancelled due to timeout".into(),
            Self::Failed => "Failed".into(),
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// Dollars.
    pub unit_cost: f64,
    /// Dollars: unit cost × quantity.
    pub total: f64,
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
}

impl OrderView {
    pub fn status_label(&self) -> String {
        self.status.label(self.decided_by.as_deref())
    }
}

pub fn cents_to_dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// `$1,234.50`: amounts are shown the same way on the server and in the browser.
pub fn format_money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!(
        "{sign}${}.{:02}",
        group_thousands((cents / 100) as i64),
        cents % 100
    )
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// What a signed-in person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Submits orders and follows their own.
    Requester,
    /// Also decides other people's orders.
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::Manager => "manager",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "requester" => Some(Self::Requester),
            "manager" => Some(Self::Manager),
            _ => None,
        }
    }
}

/// The signed-in person, as pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub role: Role,
}

impl UserView {
    pub fn is_manager(&self) -> bool {
        self.role == Role::Manager
    }
}

pub const MAX_USERNAME_LEN: usize = 32;
pub const MIN_PASSWORD_LEN: usize = 8;

pub fn parse_username(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.len() > MAX_USERNAME_LEN {
        return Err(format!(
            "Use 1 to {MAX_USERNAME_LEN} characters for the username."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Err("Use only lowercase letters, digits, '.', '_' and '-' in usernames.".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_back_exactly_as_chrono_writes_them() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(deserialize_with = "super::rfc3339::de")]
            at: chrono::DateTime<chrono::Utc>,
            #[serde(default, deserialize_with = "super::rfc3339::de_opt")]
            maybe: Option<chrono::DateTime<chrono::Utc>>,
        }
        let t = T {
            at: chrono::DateTime::from_timestamp_millis(1_790_000_000_123).expect("in range"),
            maybe: None,
        };
        let json = serde_json::to_string(&t).expect("serialises");
        assert_eq!(serde_json::from_str::<T>(&json).expect("reads back"), t);
        let offset: T = serde_json::from_str(
            r#"{"at":"2026-03-04T07:06:07+02:00","maybe":"2026-03-04T05:06:07Z"}"#,
        )
        .expect("offsets are understood");
        assert_eq!(Some(offset.at), offset.maybe);
        let bad = serde_json::from_str::<T>(r#"{"at":"yesterday"}"#).expect_err("refused");
        assert!(bad.to_string().contains("not an RFC 3339 time"), "{bad}");
    }

    use super::*;

    fn request(order_id: &str, cost: f64, product: &str, quantity: i64) -> StartOrderRequest {
        StartOrderRequest {
            order_id: order_id.into(),
            cost,
            product: product.into(),
            quantity,
        }
    }

    #[test]
    fn valid_order_keeps_exact_cents() {
        let order = NewOrder::parse(&request("order123", 500.0, "Widget", 2)).expect("valid");
        assert_eq!(order.total_cents(), 100_000);
        assert!(order.needs_approval(), "exactly $1000 needs approval");
        assert_eq!(order.instance_id(), "po-order123");
        let small = NewOrder::parse(&request("o2", 999.99, "Widget", 1)).expect("valid");
        assert!(!small.needs_approval());
        let cents = NewOrder::parse(&request("o3", 0.1, "Screw", 10_000)).expect("valid");
        assert_eq!(cents.total_cents(), 100_000);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = NewOrder::parse(&request("", f64::NAN, "  ", 0)).expect_err("invalid");
        for field in ["order_id", "cost", "product", "quantity"] {
            assert!(
                errors.for_field(field).is_some(),
                "{field} missing: {errors}"
            );
        }
    }

    #[test]
    fn order_id_rules() {
        assert!(OrderId::parse("a.b_c-9").is_ok());
        assert!(OrderId::parse(&"x".repeat(64)).is_ok());
        assert!(OrderId::parse(&"x".repeat(65)).is_err());
        assert!(OrderId::parse("has space").is_err());
        assert!(OrderId::parse("slash/").is_err());
        assert!(OrderId::parse("ünï").is_err());
    }

    #[test]
    fn cost_rules() {
        assert_eq!(parse_unit_cost(12.5), Ok(1250));
        assert!(parse_unit_cost(0.0).is_err());
        assert!(parse_unit_cost(-1.0).is_err());
        assert!(parse_unit_cost(f64::INFINITY).is_err());
        assert!(parse_unit_cost(0.333).is_err());
        assert!(parse_unit_cost(0.001).is_err());
        assert!(parse_unit_cost(1e12).is_err());
        assert_eq!(parse_unit_cost(10_000_000.0), Ok(MAX_UNIT_COST_CENTS));
    }

    #[test]
    fn quantity_and_product_rules() {
        assert!(parse_quantity(1).is_ok());
        assert!(parse_quantity(1_000_000).is_ok());
        assert!(parse_quantity(1_000_001).is_err());
        assert!(parse_quantity(-3).is_err());
        assert!(parse_product(&"p".repeat(200)).is_ok());
        assert!(parse_product(&"p".repeat(201)).is_err());
        assert!(parse_product("tab\tname").is_err());
    }

    #[test]
    fn form_reports_every_field() {
        let errors = parse_form("bad id", "", "ten", "2.5").expect_err("invalid");
        for field in ["order_id", "product", "cost", "quantity"] {
            assert!(errors.for_field(field).is_some(), "{field}: {errors}");
        }
        let order = parse_form("po1", "Desk", "$1,250.50", " 2 ").expect("valid");
        assert_eq!(order.total_cents(), 250_100);
    }

    #[test]
    fn money_is_grouped() {
        assert_eq!(format_money(123_456_789), "$1,234,567.89");
        assert_eq!(format_money(5), "$0.05");
        assert_eq!(format_money(100_000), "$1,000.00");
    }

    #[test]
    fn status_round_trips() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            OrderStatus::Approved.label(Some("bob")),
            "Approved by bob".to_string()
        );
    }
}
