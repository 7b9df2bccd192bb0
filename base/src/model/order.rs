//! An order as the store reads it and the rules judge it: its row ([`OrderRow`]), the
//! facts an activity carries to recreate it ([`OrderFacts`]), which orders a list wants
//! ([`OrderQuery`], [`Decider`]), and an entry of the change feed ([`OrderChange`]).

use std::fmt;
use std::str::FromStr;

use domain::{Cents, Decision, NewOrder, OrderStatus, OrderView, Role, SortKey};
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, FromRow, Type};

use crate::kernel::clock::from_ms;
use crate::model::approvers::Approvers;
use crate::model::people::Actor;
use crate::model::workflow::LevelAsk;
use crate::model::workflow::{APPROVERS_SEPARATOR, SINGLE_LEVEL};

/// A row as stored; turned into [`OrderView`] for the outside world.
#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub instance_id: String,
    pub order_id: String,
    pub product: String,
    pub quantity: i64,
    pub unit_cost_cents: Cents,
    pub total_cents: Cents,
    /// An unknown status in the database fails the read: the CHECK constraint admits
    /// only the ones [`OrderStatus`] knows.
    pub status: OrderStatus,
    pub created_at: i64,
    pub deadline: Option<i64>,
    /// A claimed decision; the order's outcome only once `status` is final.
    pub decision: Option<Decision>,
    pub decided_by: Option<String>,
    pub claimed_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub failure: Option<String>,
    pub updated_at: i64,
    pub requested_by: Option<String>,
    pub decision_comment: Option<String>,
    pub approval_requested_at: Option<i64>,
    pub placed_at: Option<i64>,
    /// Why an operator should look at this order (see `read_model::set_attention`).
    pub attention: Option<String>,
    pub attention_since: Option<i64>,
    /// The approval level the order waits at (1 for the first), of `levels`, decided
    /// by `level_role` or above; all `None` for an order of the seed's single level.
    pub level: Option<i64>,
    pub levels: Option<i64>,
    pub level_role: Option<Role>,
    /// Who took part in approving the levels before (a delegate and the person they
    /// acted for, both), in level order; stored comma-separated, NULL for nobody.
    pub level_approvers: Approvers,
    /// Where the claim on the level it waits at (or the decision that ended it) was
    /// made; `None` before this was recorded.
    pub decided_via: Option<Via>,
    /// Who holds the level it waits at (see [`Assignment`]).
    pub assignee: Option<String>,
    /// Since when a question to the requester waits for their answer (see
    /// `model::comment`).
    pub question_since: Option<i64>,
    /// How many files are attached (see `model::attachment`).
    pub attachments: i64,
}

/// A waiting order's level handed to someone (`to`), or handed back (`None`), by
/// whoever did it, as the timeline says (`label`). Taken only while the order still
/// waits, undecided, at the level and role it was read at.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub instance_id: String,
    pub level: Option<i64>,
    pub role: Option<Role>,
    pub to: Option<String>,
    pub label: String,
    pub at: i64,
}

/// Where a decision was made: in the app (a page, the API, a bulk decision) or from
/// an e-mail's action link, which the timeline and the audit trail say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Type)]
#[sqlx(type_name = "TEXT", rename_all = "snake_case")]
pub enum Via {
    App,
    EmailLink,
}

impl Via {
    /// What a timeline entry adds after the decider's name.
    pub fn label_suffix(via: Option<Via>) -> &'static str {
        match via {
            Some(Via::EmailLink) => " (e-mail)",
            Some(Via::App) | None => "",
        }
    }
}

impl OrderRow {
    /// Whether `name` approved an earlier level of this order.
    pub fn approved_a_level(&self, name: &str) -> bool {
        self.level_approvers.contains(name)
    }

    /// Who took the decision that ended the order, or holds the claim: after several
    /// levels `decided_by` lists every approver in turn, and this is the last (`carol
    /// for dora` where a delegate acted).
    pub fn last_decider(&self) -> Option<&str> {
        self.decided_by
            .as_deref()
            .and_then(|by| by.rsplit(APPROVERS_SEPARATOR).next())
    }

    /// The approval level the row says the order waits at: the seed's single level
    /// when the level columns are all NULL, level `number` of `of` for `role` when all
    /// are set. Anything else is a row the read model never writes (it sets the three
    /// together), and an error rather than a guess.
    pub fn level_at(&self) -> Result<LevelAt, InconsistentLevel> {
        let inconsistent = || InconsistentLevel {
            instance_id: self.instance_id.clone(),
            level: self.level,
            levels: self.levels,
            role: self.level_role,
        };
        match (self.level, self.levels, self.level_role) {
            (None, None, None) => Ok(LevelAt::Single),
            (Some(level), Some(levels), Some(role)) => {
                match (u32::try_from(level), u32::try_from(levels)) {
                    (Ok(number), Ok(of)) if (1..=of).contains(&number) => {
                        Ok(LevelAt::Of { number, of, role })
                    }
                    _ => Err(inconsistent()),
                }
            }
            _ => Err(inconsistent()),
        }
    }

    /// The level a claim on this order is for (`None`: the seed's single level).
    /// The level it waits at as a request names it: its number and the role asked
    /// (the seed's single level is [`SINGLE_LEVEL`]). What an e-mail asked, or one of
    /// its links decides, still stands only while this is unchanged.
    pub fn asked(&self) -> Result<(u32, Role), InconsistentLevel> {
        Ok(match self.level_at()? {
            LevelAt::Single => SINGLE_LEVEL,
            LevelAt::Of { number, role, .. } => (number, role),
        })
    }

    pub fn level_number(&self) -> Option<u32> {
        self.level.and_then(|l| u32::try_from(l).ok())
    }

    /// Whether the level it waits at is its last (always, for the seed's single level).
    pub fn at_last_level(&self) -> bool {
        match (self.level, self.levels) {
            (Some(level), Some(levels)) => level >= levels,
            _ => true,
        }
    }

    pub fn view(&self) -> OrderView {
        let status = self.status;
        let decided_by_a_person = matches!(
            status,
            OrderStatus::Approved | OrderStatus::Rejected | OrderStatus::Cancelled
        );
        OrderView {
            instance_id: self.instance_id.clone(),
            order_id: self.order_id.clone(),
            product: self.product.clone(),
            quantity: self.quantity,
            unit_cost: self.unit_cost_cents,
            total: self.total_cents,
            status,
            created_at: from_ms(self.created_at),
            approval_deadline: self.deadline.map(from_ms),
            // A claim is not a decision until the workflow confirms it, and an order
            // that timed out or failed was decided by nobody, whoever had claimed it.
            decided_by: decided_by_a_person
                .then(|| self.decided_by.clone())
                .flatten(),
            decided_at: self.decided_at.map(from_ms),
            requested_by: self.requested_by.clone(),
            comment: decided_by_a_person
                .then(|| self.decision_comment.clone())
                .flatten(),
            needs_attention: self.attention.is_some(),
            assignee: (status == OrderStatus::AwaitingApproval)
                .then(|| self.assignee.clone())
                .flatten(),
            question_open: status == OrderStatus::AwaitingApproval && self.question_since.is_some(),
            attachments: u8::try_from(self.attachments).unwrap_or(u8::MAX),
            note: String::new(),
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl OrderRow {
    /// A $2,000 order of `requested_by`'s waiting for approval (unit tests).
    pub fn waiting(requested_by: &str) -> Self {
        OrderRow {
            instance_id: "po-1".into(),
            order_id: "1".into(),
            product: "Desk".into(),
            quantity: 1,
            unit_cost_cents: Cents(200_000),
            total_cents: Cents(200_000),
            status: OrderStatus::AwaitingApproval,
            created_at: 0,
            deadline: None,
            decision: None,
            decided_by: None,
            claimed_at: None,
            decided_at: None,
            failure: None,
            updated_at: 0,
            requested_by: Some(requested_by.into()),
            decision_comment: None,
            approval_requested_at: None,
            placed_at: None,
            attention: None,
            attention_since: None,
            level: None,
            levels: None,
            level_role: None,
            level_approvers: Approvers::default(),
            decided_via: None,
            assignee: None,
            question_since: None,
            attachments: 0,
        }
    }
}

/// Where an order waits, as [`OrderRow::level_at`] reads its level columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelAt {
    /// The seed's single level (no approval policy): a manager or a director decides it.
    Single,
    /// Level `number` (1 for the first) of `of`, decided by `role` or above.
    Of { number: u32, of: u32, role: Role },
}

/// Level columns that do not go together: some set and some not, or a level outside
/// 1..=levels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "order {instance_id}: its approval level is recorded inconsistently \
     (level {level:?} of {levels:?}, role {role:?})"
)]
pub struct InconsistentLevel {
    pub instance_id: String,
    pub level: Option<i64>,
    pub levels: Option<i64>,
    pub role: Option<Role>,
}

/// The order data an activity carries, so a row that is missing (lost insert,
/// compensated start) is recreated rather than silently skipped.
#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub instance_id: String,
    pub order_id: String,
    pub product: String,
    pub quantity: i64,
    pub unit_cost: Cents,
    pub requested_by: Option<String>,
}

impl OrderFacts {
    pub fn from_new(order: &NewOrder, requested_by: &str) -> Self {
        Self {
            instance_id: order.instance_id(),
            order_id: order.order_id.to_string(),
            product: order.product.clone(),
            quantity: order.quantity,
            unit_cost: order.unit_cost,
            requested_by: Some(requested_by.to_owned()),
        }
    }

    /// What the order costs in all.
    pub fn total(&self) -> Cents {
        self.unit_cost.times(self.quantity)
    }

    pub fn from_row(row: &OrderRow) -> Self {
        Self {
            instance_id: row.instance_id.clone(),
            order_id: row.order_id.clone(),
            product: row.product.clone(),
            quantity: row.quantity,
            unit_cost: row.unit_cost_cents,
            requested_by: row.requested_by.clone(),
        }
    }
}

/// Which orders a page or the list API wants.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    /// Only orders that have reached a final status.
    pub decided_only: bool,
    pub requested_by: Option<String>,
    /// Case-insensitive text in the order id, product or requester.
    pub text: Option<String>,
    /// Instead of the list's own order.
    pub sort: Option<SortKey>,
    /// Only orders whose current level one of these may decide (none: no such filter).
    pub deciders: Vec<Decider>,
    /// Only decided orders after this one in the decided list's order (most recently
    /// decided first): the next page of a listing read by key, which orders decided
    /// meanwhile cannot shift as they shift an offset.
    pub decided_after: Option<DecidedAt>,
    /// Only orders held by this person, or held by nobody.
    pub assigned: Option<AssignedFilter>,
}

/// The inbox's filter by who holds an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignedFilter {
    To(String),
    Nobody,
}

/// Where a decided order stands in the decided list: its decision's time, and its
/// instance id among those decided in the same millisecond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedAt {
    pub decided_at: i64,
    pub instance_id: String,
}

/// Someone an inbox is for: the reader, or the reader acting for someone who delegated
/// to them. An order fits when `role` reaches its level's and none of `people` approved
/// a level before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    pub role: Role,
    pub people: Vec<String>,
}

/// One entry of the change feed (`order_changes`).
#[derive(Debug, Clone, serde::Serialize, FromRow)]
pub struct OrderChange {
    #[serde(skip)]
    pub id: i64,
    pub instance_id: String,
    /// The order's new status, or that its row is gone.
    pub status: ChangeStatus,
    /// Whose order it is: the stream sends a change only to those who may see it.
    #[serde(skip)]
    pub requested_by: Option<String>,
}

/// How far a reader has read the change feed. On SQLite ids are handed out in commit
/// order (one writer), so the id says it all (`txid` stays 0); on PostgreSQL they are
/// not, and the writing transaction's id comes first (see the `order_changes` table
/// there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub txid: i64,
    pub id: i64,
}

pub type ChangeBatch = std::sync::Arc<Vec<OrderChange>>;

/// What a change did to an order, as the change feed records it (`order_changes.status`)
/// and the event stream sends it: the order's new status (`awaiting_approval`), or
/// `deleted` (a start that could not schedule its workflow takes its row back). Any
/// other text in the table fails the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeStatus {
    Order(OrderStatus),
    Deleted,
}

impl ChangeStatus {
    const DELETED: &'static str = "deleted";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order(status) => status.as_str(),
            Self::Deleted => Self::DELETED,
        }
    }
}

impl fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change-feed status that is neither an order status nor `deleted`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown change status {0:?}: neither an order status nor \"deleted\"")]
pub struct UnknownChangeStatus(pub String);

impl FromStr for ChangeStatus {
    type Err = UnknownChangeStatus;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if raw == Self::DELETED {
            return Ok(Self::Deleted);
        }
        OrderStatus::parse(raw)
            .map(Self::Order)
            .ok_or_else(|| UnknownChangeStatus(raw.to_owned()))
    }
}

impl ChangeStatus {
    /// Reads `order_changes.status` as both databases' feeds do: an unknown status
    /// fails the read, naming the column, rather than reaching the stream as something
    /// it is not.
    pub fn from_column(raw: &str) -> Result<Self, sqlx::Error> {
        raw.parse()
            .map_err(|e: UnknownChangeStatus| sqlx::Error::ColumnDecode {
                index: "status".into(),
                source: Box::new(e),
            })
    }
}

impl From<OrderStatus> for ChangeStatus {
    fn from(status: OrderStatus) -> Self {
        Self::Order(status)
    }
}

/// As the stream sends it: the same string the table holds.
impl serde::Serialize for ChangeStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ChangeStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

impl<DB: Database> Type<DB> for ChangeStatus
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}

/// Decodes `order_changes.status` on either database; unknown text is an error.
impl<'r, DB: Database> Decode<'r, DB> for ChangeStatus
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(<&'r str>::decode(value)?.parse()?)
    }
}

/// Why an order could not be recorded as submitted.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("an order with this id already exists")]
    Duplicate,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// When an order with `status` was placed, if it was: an approval the workflow decided
/// is placed as it is recorded.
pub fn placed_at(status: OrderStatus, now: i64) -> Option<i64> {
    (status == OrderStatus::Approved).then_some(now)
}

/// A workflow's end, for a row we already hold (see [`finish`]).
#[derive(Debug, Clone)]
pub struct Finish {
    pub instance_id: String,
    pub status: OrderStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub failure: Option<String>,
    pub now: i64,
}

impl Finish {
    /// An approval the workflow decided but could not record is placed here.
    pub fn placed_at(&self) -> Option<i64> {
        placed_at(self.status, self.now)
    }

    /// A failed order needs an operator, with the reason; any other outcome settles
    /// what was pending.
    pub fn attention(&self) -> Option<&str> {
        (self.status == OrderStatus::Failed)
            .then(|| self.failure.as_deref().unwrap_or("workflow failed"))
    }

    pub fn attention_since(&self) -> Option<i64> {
        self.attention().map(|_| self.now)
    }
}

/// What asking for a level writes besides the statements themselves, worked out once
/// for both databases.
pub struct LevelWrite {
    pub number: i64,
    pub of: i64,
    /// Everyone who took part in an approval ("carol for dora": both), for four eyes.
    pub approvers: Approvers,
    /// The timeline entry (key, label) of an escalation.
    pub escalation: Option<(String, String)>,
}

impl LevelWrite {
    pub fn of(ask: &LevelAsk) -> Self {
        let (number, of) = (i64::from(ask.number), i64::from(ask.of));
        let approvers = ask
            .approved_by
            .iter()
            .flat_map(|record| Actor::parse(record).into_people())
            .collect();
        let escalation = ask.escalated.then(|| {
            (
                format!("escalated:{number}"),
                format!(
                    "Nobody decided in time: asked a {} instead (level {number} of {of})",
                    ask.role.as_str()
                ),
            )
        });
        Self {
            number,
            of,
            approvers,
            escalation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_status_is_the_same_string_in_json_and_in_the_table() {
        let all = OrderStatus::ALL
            .into_iter()
            .map(ChangeStatus::Order)
            .chain([ChangeStatus::Deleted]);
        for status in all {
            let json = serde_json::to_string(&status).expect("serializes");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(
                serde_json::from_str::<ChangeStatus>(&json).expect("reads"),
                status
            );
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        assert_eq!(
            serde_json::to_string(&ChangeStatus::Deleted).expect("serializes"),
            r#""deleted""#
        );
        assert_eq!(
            serde_json::to_string(&ChangeStatus::Order(OrderStatus::AwaitingApproval))
                .expect("serializes"),
            r#""awaiting_approval""#
        );
        assert_eq!(
            "Deleted".parse::<ChangeStatus>(),
            Err(UnknownChangeStatus("Deleted".into()))
        );
        assert!(serde_json::from_str::<ChangeStatus>(r#""gone""#).is_err());
    }

    #[test]
    fn the_level_columns_are_read_together_or_not_at_all() {
        let row = |level, levels, level_role| OrderRow {
            level,
            levels,
            level_role,
            ..OrderRow::waiting("alice")
        };
        assert_eq!(row(None, None, None).level_at(), Ok(LevelAt::Single));
        assert_eq!(
            row(Some(2), Some(3), Some(Role::Director)).level_at(),
            Ok(LevelAt::Of {
                number: 2,
                of: 3,
                role: Role::Director
            })
        );
        for (level, levels, role) in [
            (Some(2), None, Some(Role::Director)),
            (Some(2), Some(3), None),
            (None, None, Some(Role::Manager)),
            (Some(4), Some(3), Some(Role::Manager)),
            (Some(0), Some(3), Some(Role::Manager)),
        ] {
            let error = row(level, levels, role)
                .level_at()
                .expect_err("inconsistent");
            assert!(error.to_string().contains("po-1"), "{error}");
        }
    }

    #[test]
    fn an_order_change_sends_its_id_and_status_only() {
        let change = OrderChange {
            id: 7,
            instance_id: "po-1".into(),
            status: ChangeStatus::Deleted,
            requested_by: Some("alice".into()),
        };
        assert_eq!(
            serde_json::to_value(&change).expect("serializes"),
            serde_json::json!({"instance_id": "po-1", "status": "deleted"})
        );
    }
}
