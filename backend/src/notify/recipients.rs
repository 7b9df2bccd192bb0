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

use store_postgres::recipients as pg;

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
    let (people, held) = match db {
        Db::Sqlite(db) => {
            let people = sqlx::query!(
                r#"SELECT id AS "id!", name, role AS "role: Role", created_at, email AS "email!"
                     FROM users
                    WHERE email IS NOT NULL AND role IN ('manager', 'director')
                    ORDER BY name"#
            )
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|r| {
                let user = User {
                    id: r.id,
                    name: r.name,
                    role: r.role,
                    created_at: r.created_at,
                };
                (user, r.email)
            })
            .collect::<Vec<_>>();
            let held = sqlx::query!(
                r#"SELECT d.delegate, d.delegator, u.role AS "role: Role"
                     FROM delegations d JOIN users u ON u.name = d.delegator
                    WHERE d.revoked_at IS NULL AND d.starts_at <= ? AND d.ends_at > ?
                    ORDER BY d.delegate, d.delegator"#,
                now,
                now,
            )
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|r| (r.delegate, r.delegator, r.role))
            .collect::<Vec<_>>();
            (people, held)
        }
        Db::Postgres(db) => (pg::people(db).await?, pg::held(db, now).await?),
    };
    Ok(people
        .into_iter()
        .map(|(user, address)| {
            let delegators = held
                .iter()
                .filter(|(delegate, _, role)| *delegate == user.name && role.decides_orders())
                .map(|(_, delegator, role)| Delegator {
                    name: delegator.clone(),
                    role: *role,
                })
                .collect();
            Candidate {
                user,
                address,
                delegators,
            }
        })
        .collect())
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
