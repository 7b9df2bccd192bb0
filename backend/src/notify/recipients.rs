//! Who is e-mailed when a decision is asked of a level or its deadline nears: everyone
//! the policy lets decide it (`rules::policy::deciding_as`), as themselves or for
//! someone whose decisions they hold now, and who has an address. The same rule as the
//! inbox and the decision itself, so a delegate who sees an order in their inbox is
//! also asked about it by e-mail.
//!
//! The statements here only read who has an address and who holds whose decisions;
//! who may decide is the policy's alone.

use domain::Role;

use crate::model::order::OrderRow;
use crate::model::people::{Delegator, User};
use crate::model::workflow::SINGLE_LEVEL;
use crate::rules::policy;
use crate::store::db::Db;
use crate::store::recipients as stored;

/// Someone who decides orders and has an address, with whose decisions they hold now.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub user: User,
    pub address: String,
    pub delegators: Vec<Delegator>,
}

/// Everyone who decides orders and has an address, each with the delegations they hold
/// at `now` (direct ones, from people who decide orders).
pub async fn candidates(db: &Db, now: i64) -> Result<Vec<Candidate>, sqlx::Error> {
    let (people, held) = (stored::people(db).await?, stored::held(db, now).await?);
    Ok(people
        .into_iter()
        .map(|(user, address)| Candidate {
            delegators: holding(&held, &user.name),
            user,
            address,
        })
        .collect())
}

/// Whose decisions `delegate` holds, among the delegations in force (`held`, as
/// `store::recipients::held` reads them): direct ones, from people who decide orders.
pub fn holding(held: &[(String, String, Role)], delegate: &str) -> Vec<Delegator> {
    held.iter()
        .filter(|(to, _, role)| to == delegate && role.decides_orders())
        .map(|(_, delegator, role)| Delegator {
            name: delegator.clone(),
            role: *role,
        })
        .collect()
}

/// Those of `candidates` the policy lets decide `order` at `level` (1 for the seed's
/// single level) asked of `role`: the level the e-mail is about, whatever the row
/// shows by the time it is read.
pub fn asked<'a>(
    candidates: &'a [Candidate],
    order: &OrderRow,
    level: u32,
    role: Role,
) -> impl Iterator<Item = &'a Candidate> {
    let at_level = match order.levels {
        Some(_) => OrderRow {
            level: Some(i64::from(level)),
            level_role: Some(role),
            ..order.clone()
        },
        // The seed's single level: the row holds no level columns.
        None if (level, role) == SINGLE_LEVEL => order.clone(),
        // A level of a policy the row does not show yet: as the e-mail tells it.
        None => OrderRow {
            level: Some(i64::from(level)),
            levels: Some(i64::from(level)),
            level_role: Some(role),
            ..order.clone()
        },
    };
    candidates
        .iter()
        .filter(move |c| policy::deciding_as(&c.user, &at_level, None, &c.delegators).is_ok())
}
