//! `GET /api/orders.csv`: the decided orders a person may see, as CSV, newest decision
//! first (what auditors ask for first). API clients sign in as for the rest of the API;
//! in a browser the session cookie does (the Decided tab links here).

use backend::model::order::{DecidedAt, OrderQuery, OrderRow};
use std::borrow::Cow;
use std::time::Duration;

use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use backend::store::read_model;
use backend::{rules::policy, store::db::Db};
use domain::{Cents, OrderStatus, OrderView};
use futures::StreamExt;
use serde::Deserialize;

use super::auth::Viewer;
use super::error::ApiError;

/// Rows read from the database at a time while the file is sent.
const PAGE: i64 = 500;
/// How long reading one page may take.
const PAGE_DEADLINE: Duration = Duration::from_secs(10);
/// How long a whole export may take: it is outside the request timeout (a large file
/// to a slow client takes a while), but not unbounded.
const EXPORT_DEADLINE: Duration = Duration::from_secs(15 * 60);

const HEADER: [&str; 14] = [
    "order_id",
    "instance_id",
    "product",
    "quantity",
    "unit_cost",
    "total",
    "status",
    "outcome",
    "requested_by",
    "created_at",
    "approval_deadline",
    "decided_by",
    "decided_at",
    "comment",
];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Text in the order id, product or requester, as the inbox filters (at most 200
    /// characters).
    #[param(schema_with = super::params::search_text)]
    pub q: Option<String>,
    /// One final status; all of them when absent or empty.
    #[param(schema_with = super::params::final_status)]
    pub status: Option<String>,
}

/// Download the decided orders the caller may see as CSV.
#[utoipa::path(
    get, path = "/api/orders.csv", tag = "orders",
    params(ExportQuery),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "CSV, one row per decided order, newest decision first", content_type = "text/csv"),
        (status = 400, description = "Unknown or unfinished status"),
        (status = 422, description = "Search text past 200 characters"),
        (status = 401, description = "Missing or wrong credentials"),
    )
)]
pub async fn orders_csv(
    State(state): State<AppState>,
    Viewer(user): Viewer,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let status = match query.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match OrderStatus::parse(raw) {
            Some(status) if status.is_final() => Some(status),
            _ => {
                let finals: Vec<_> = OrderStatus::ALL
                    .iter()
                    .filter(|s| s.is_final())
                    .map(|s| s.as_str())
                    .collect();
                return Err(ApiError::BadRequest(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "status {raw:?} is not a decided status; use one of {}.",
                        finals.join(", ")
                    ),
                ));
            }
        },
    };
    let filter = policy::scope(&user).restrict(OrderQuery {
        status,
        decided_only: true,
        text: domain::parse_search(query.q.as_deref().unwrap_or_default())?,
        ..Default::default()
    });
    // The first page is read before answering, so a failing database is an error
    // status, not a download that stops short.
    let until = tokio::time::Instant::now() + EXPORT_DEADLINE;
    let first = page(&state.db, &filter, None, until)
        .await
        .map_err(|e| match e {
            PageError::Database(e) => ApiError::from(e),
            PageError::Late(_) => {
                ApiError::Service(backend::ServiceError::Database(sqlx::Error::PoolTimedOut))
            }
        })?;
    let mut head = csv_bytes(std::iter::once(HEADER.map(Cow::Borrowed)));
    head.extend(csv_bytes(first.iter().map(|r| record(&r.view()))));
    let rest = more_pages(state.db.clone(), filter, next_after(&first), until);
    let body = futures::stream::once(async move { Ok(Bytes::from(head)) }).chain(rest);
    let filename = format!(
        "orders-decided-{}.csv",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the export ran past its deadline ({0})")]
    Late(&'static str),
}

/// One page of the decided list after `after` (from the start: `None`), read by key,
/// with a deadline of its own and the export's.
async fn page(
    db: &Db,
    filter: &OrderQuery,
    after: Option<DecidedAt>,
    until: tokio::time::Instant,
) -> Result<Vec<OrderRow>, PageError> {
    let filter = OrderQuery {
        decided_after: after,
        ..filter.clone()
    };
    let deadline = until.min(tokio::time::Instant::now() + PAGE_DEADLINE);
    tokio::time::timeout_at(deadline, read_model::list(db, &filter, PAGE, 0))
        .await
        .map_err(|_| PageError::Late("a page took too long, or the whole file did"))?
        .map_err(PageError::from)
}

/// Where the page after `rows` starts, if there may be one.
fn next_after(rows: &[OrderRow]) -> Option<DecidedAt> {
    let last = rows.last().filter(|_| rows.len() as i64 == PAGE)?;
    Some(DecidedAt {
        decided_at: last.decided_at?,
        instance_id: last.instance_id.clone(),
    })
}

/// The pages after the first, read one at a time as the client takes them, each after
/// the last row sent (by key, not by offset: orders decided meanwhile land before the
/// first row and shift nothing). A failure or a missed deadline ends the body with an
/// error, so the client sees a broken download, never a short file that looks whole.
fn more_pages(
    db: Db,
    filter: OrderQuery,
    after: Option<DecidedAt>,
    until: tokio::time::Instant,
) -> impl futures::Stream<Item = Result<Bytes, PageError>> {
    futures::stream::unfold(after, move |after| {
        let (db, filter) = (db.clone(), filter.clone());
        async move {
            let after = after?;
            match page(&db, &filter, Some(after), until).await {
                Ok(rows) => {
                    let next = next_after(&rows);
                    let bytes = csv_bytes(rows.iter().map(|r| record(&r.view())));
                    Some((Ok(Bytes::from(bytes)), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV export: reading a page");
                    Some((Err(e), None))
                }
            }
        }
    })
}

fn csv_bytes<'a, R>(records: impl Iterator<Item = R>) -> Vec<u8>
where
    R: IntoIterator<Item = Cow<'a, str>>,
{
    let mut out = csv::Writer::from_writer(Vec::new());
    for record in records {
        // Writing to memory cannot fail but for a broken record, which ours never are.
        if let Err(e) = out.write_record(record.into_iter().map(|c| c.into_owned())) {
            tracing::error!(error = %e, "CSV export: writing a row");
        }
    }
    out.into_inner().unwrap_or_default()
}

fn record(order: &OrderView) -> [Cow<'static, str>; 14] {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        Cow::Owned(t.map(|t| t.to_rfc3339()).unwrap_or_default())
    };
    let text = |s: Option<&str>| Cow::Owned(cell(s.unwrap_or_default()).into_owned());
    [
        text(Some(&order.order_id)),
        Cow::Owned(order.instance_id.clone()),
        text(Some(&order.product)),
        Cow::Owned(order.quantity.to_string()),
        Cow::Owned(amount(order.unit_cost)),
        Cow::Owned(amount(order.total)),
        Cow::Borrowed(order.status.as_str()),
        text(Some(&order.status_label())),
        text(order.requested_by.as_deref()),
        time(Some(order.created_at)),
        time(order.approval_deadline),
        text(order.decided_by.as_deref()),
        time(order.decided_at),
        text(order.comment.as_deref()),
    ]
}

/// Dollars with two decimals and no grouping, for spreadsheets and scripts.
fn amount(cents: Cents) -> String {
    let c = cents.0;
    let sign = if c < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        c.unsigned_abs() / 100,
        c.unsigned_abs() % 100
    )
}

/// A cell a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) is kept as text,
/// with a leading apostrophe: the text people typed must never become a formula on an
/// auditor's machine.
fn cell(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_stay_text_and_amounts_are_plain() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("Widget"), "Widget");
        assert_eq!(amount(Cents(123_456)), "1234.56");
        assert_eq!(amount(Cents(5)), "0.05");
    }
}
