//! Orders as callers submit them: the seed's request body, and the validated
//! [`NewOrder`] the rest of the code trusts.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::money::{group_thousands, Cents};
use crate::validation::ValidationErrors;

pub const MAX_ORDER_ID_LEN: usize = 64;
pub const MAX_PRODUCT_LEN: usize = 200;
pub const MAX_QUANTITY: i64 = 1_000_000;

/// The workflow instance id is derived from the order id, so a repeated order id can
/// never start a second workflow.
pub fn instance_id_for(order_id: &OrderId) -> String {
    format!("po-{}", order_id.as_str())
}

/// Whether `raw` can name an order's workflow instance (`po-` and an order id), so
/// anything else is "no such order" without asking the database or the workflow engine.
pub fn is_instance_id(raw: &str) -> bool {
    raw.strip_prefix("po-")
        .is_some_and(|id| OrderId::parse(id).is_ok_and(|parsed| parsed.as_str() == id))
}

/// What a caller sent, field by field, before validation (the seed's request body).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StartOrderRequest {
    // The bounds below restate MAX_ORDER_ID_LEN, Cents::MAX_UNIT_COST, MAX_PRODUCT_LEN
    // and MAX_QUANTITY for the API document (an attribute takes literals only); the API
    // document's test (server/tests/http/pages.rs) holds them to the constants.
    /// `[A-Za-z0-9._-]{1,64}`; the workflow instance id is `po-{order_id}`.
    #[cfg_attr(
        feature = "ssr",
        schema(example = "order123", pattern = r"^[A-Za-z0-9._-]{1,64}$")
    )]
    pub order_id: String,
    /// Unit cost in dollars, at most two decimals.
    #[cfg_attr(
        feature = "ssr",
        schema(
            example = 500.0,
            minimum = 0.01,
            maximum = 10000000.0,
            multiple_of = 0.01
        )
    )]
    pub cost: f64,
    /// What is ordered (no control characters or invisible formatting).
    #[cfg_attr(
        feature = "ssr",
        schema(example = "Widget", min_length = 1, max_length = 200)
    )]
    pub product: String,
    #[cfg_attr(feature = "ssr", schema(example = 2, minimum = 1, maximum = 1000000))]
    pub quantity: i64,
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

/// A unit cost in dollars as the caller sent it: positive, at most two decimals, at
/// most [`Cents::MAX_UNIT_COST`].
pub fn parse_unit_cost(cost: f64) -> Result<Cents, String> {
    if !cost.is_finite() {
        return Err("Enter the unit cost as a number, e.g. 12.50.".into());
    }
    if cost <= 0.0 {
        return Err("The unit cost must be more than $0.".into());
    }
    let cents = (cost * 100.0).round();
    if cents > Cents::MAX_UNIT_COST.0 as f64 {
        return Err(format!(
            "The unit cost must be at most {}.",
            Cents::MAX_UNIT_COST
        ));
    }
    if (cents - cost * 100.0).abs() > 1e-6 * cents.max(1.0) {
        return Err("Use at most two decimal places for the unit cost.".into());
    }
    if cents < 1.0 {
        return Err("The unit cost must be at least $0.01.".into());
    }
    Ok(Cents::from_dollars(cost))
}

pub fn parse_quantity(quantity: i64) -> Result<i64, String> {
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(format!(
            "The quantity must be a whole number from 1 to {}.",
            group_thousands(MAX_QUANTITY as u64)
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
    if let Some(why) = crate::text::hidden_characters(product, "product name") {
        return Err(why);
    }
    Ok(product.to_owned())
}

/// An order that passed every check; the rest of the code trusts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub product: String,
    pub quantity: i64,
    pub unit_cost: Cents,
}

impl NewOrder {
    pub fn parse(request: &StartOrderRequest) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let order_id = OrderId::parse(&request.order_id)
            .map_err(|m| errors.push("order_id", m))
            .ok();
        let unit_cost = parse_unit_cost(request.cost)
            .map_err(|m| errors.push("cost", m))
            .ok();
        let product = parse_product(&request.product)
            .map_err(|m| errors.push("product", m))
            .ok();
        let quantity = parse_quantity(request.quantity)
            .map_err(|m| errors.push("quantity", m))
            .ok();
        match (order_id, product, quantity, unit_cost) {
            (Some(order_id), Some(product), Some(quantity), Some(unit_cost)) => Ok(Self {
                order_id,
                product,
                quantity,
                unit_cost,
            }),
            _ => Err(errors),
        }
    }

    pub fn total(&self) -> Cents {
        self.unit_cost.times(self.quantity)
    }

    pub fn needs_approval(&self) -> bool {
        self.total() >= Cents::APPROVAL_THRESHOLD
    }

    pub fn instance_id(&self) -> String {
        instance_id_for(&self.order_id)
    }
}

/// Whether `text` is a plain decimal: digits with at most one `.` among them.
fn is_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    !(whole.is_empty() && fraction.is_empty())
        && whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
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
    // Only plain decimals: Rust's float parser also takes `nan`, `inf` and `1e3`, which
    // no one means as a price (`nan` once went through as $1.00).
    let cost = match is_decimal(cost_text.trim())
        .then(|| cost_text.trim().parse::<f64>().ok())
        .flatten()
    {
        Some(cost) => cost,
        None => {
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
                    group_thousands(MAX_QUANTITY as u64)
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
