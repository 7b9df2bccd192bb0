//! How the API's query parameters are described in the OpenAPI document: the values
//! each one takes, from the domain's own lists, so the document cannot drift from
//! what the handlers accept. An empty value means "not given", as the handlers read it.

use domain::{HeldBy, OrderStatus, SortKey, MAX_SEARCH_CHARS};
use utoipa::openapi::schema::{ObjectBuilder, Type};

fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    let values: Vec<&str> = std::iter::once("").chain(values).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// Any order status.
pub fn any_status() -> ObjectBuilder {
    one_of(OrderStatus::ALL.iter().map(|s| s.as_str()))
}

/// A status an order ends in.
pub fn final_status() -> ObjectBuilder {
    one_of(
        OrderStatus::ALL
            .iter()
            .filter(|s| s.is_final())
            .map(|s| s.as_str()),
    )
}

/// Whom a waiting order is held by.
pub fn held_by() -> ObjectBuilder {
    one_of(HeldBy::ALL.iter().map(|h| h.as_str()))
}

/// A list's order.
pub fn sort_key() -> ObjectBuilder {
    one_of(SortKey::ALL.iter().map(|k| k.as_str()))
}

/// Search text, bounded as `domain::parse_search` bounds it.
pub fn search_text() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_SEARCH_CHARS))
}
