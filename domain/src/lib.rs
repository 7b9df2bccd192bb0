//! The purchase-order domain shared by server and browser: validated inputs, money,
//! statuses and the wire types the API and the pages exchange. Nothing here touches
//! I/O. With the `ssr` feature the types also map to database columns (`sqlx::Type`)
//! and OpenAPI schemas; the browser build has neither.

#[cfg(feature = "ssr")]
mod attachment;
mod detail;
mod money;
mod order;
mod status;
mod text;
mod user;
mod validation;
mod view;

#[cfg(feature = "ssr")]
pub use attachment::{
    clean_file_name, AttachmentView, FileType, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES,
    MAX_FILE_NAME_CHARS,
};
#[cfg(feature = "ssr")]
pub use detail::CommentView;
pub use detail::{OrderDetail, TimelineEntry};
pub use money::{group_thousands, Cents};
pub use order::{
    instance_id_for, is_instance_id, parse_form, parse_product, parse_quantity, parse_unit_cost,
    NewOrder, OrderId, StartOrderRequest, MAX_ORDER_ID_LEN, MAX_PRODUCT_LEN, MAX_QUANTITY,
};
pub use status::{Decision, HeldBy, OrderStatus, SortKey};
pub use text::{hidden_characters, is_format_char, parse_search, MAX_SEARCH_CHARS};
pub use user::{demo, parse_username, Role, UserView, MAX_USERNAME_LEN, MIN_PASSWORD_LEN};
pub use validation::{FieldError, ValidationErrors};
pub use view::{rfc3339, BulkLine, OrderView};

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
        assert_eq!(order.total(), Cents(100_000));
        assert!(order.needs_approval(), "exactly $1000 needs approval");
        assert_eq!(order.instance_id(), "po-order123");
        let small = NewOrder::parse(&request("o2", 999.99, "Widget", 1)).expect("valid");
        assert!(!small.needs_approval());
        let cents = NewOrder::parse(&request("o3", 0.1, "Screw", 10_000)).expect("valid");
        assert_eq!(cents.total(), Cents(100_000));
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
    fn instance_ids_are_po_and_an_order_id() {
        assert!(is_instance_id("po-order123"));
        assert!(is_instance_id("po-a.b_c-9"));
        for bad in [
            "order123", "po-", "po- x", "po-x ", "po-a/b", "po-ü", "PO-x",
        ] {
            assert!(!is_instance_id(bad), "{bad:?}");
        }
        assert!(!is_instance_id(&format!("po-{}", "x".repeat(65))));
    }

    #[test]
    fn cost_rules() {
        assert_eq!(parse_unit_cost(12.5), Ok(Cents(1250)));
        assert!(parse_unit_cost(0.0).is_err());
        assert!(parse_unit_cost(-1.0).is_err());
        assert!(parse_unit_cost(f64::INFINITY).is_err());
        assert!(parse_unit_cost(0.333).is_err());
        assert!(parse_unit_cost(0.001).is_err());
        assert!(parse_unit_cost(1e12).is_err());
        assert_eq!(parse_unit_cost(10_000_000.0), Ok(Cents::MAX_UNIT_COST));
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
        assert_eq!(
            parse_form("po1", "Desk", ".5", "1").map(|o| o.unit_cost),
            Ok(Cents(50))
        );
        // Rust's float parser takes these; a price form does not.
        for cost in [
            "nan", "NaN", "inf", "-inf", "infinity", "1e3", "0x10", "1.2.3", ".", "+5",
        ] {
            let errors = parse_form("po1", "Desk", cost, "1").expect_err(cost);
            assert!(errors.for_field("cost").is_some(), "{cost}: {errors:?}");
        }
        assert_eq!(order.total(), Cents(250_100));
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
