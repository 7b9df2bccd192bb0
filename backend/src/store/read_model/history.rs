//! What happened to an order besides its row: the levels approved before the last, the
//! timeline's other events, and what operators did to it.

use crate::model::history::{LevelApproval, OperatorAction, OperatorActionRow, TimelineRow};

on_either_database!(orders {
    fn timeline(instance_id: &str) -> Result<Vec<TimelineRow>, sqlx::Error>;
    /// The levels of an order approved so far (not the last: that is the order's
    /// outcome).
    fn level_approvals(instance_id: &str) -> Result<Vec<LevelApproval>, sqlx::Error>;
    /// Records what an operator did to an order, and who.
    fn record_operator_action(
        instance_id: &str,
        actor: &str,
        action: OperatorAction,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error>;
    fn operator_actions(instance_id: &str) -> Result<Vec<OperatorActionRow>, sqlx::Error>;
});
