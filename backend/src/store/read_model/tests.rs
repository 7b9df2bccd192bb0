use super::list::SQLITE;
use super::*;
use crate::model::history::OperatorAction;
use crate::model::order::{Decider, OrderQuery};
use crate::model::people::Actor;
use domain::{Cents, SortKey};

async fn fresh_db() -> (Db, tempfile::TempDir) {
    crate::store::db::temporary()
        .await
        .expect("a fresh database")
}

/// Puts an order in `status` directly, whatever it was.
async fn set_status(db: &Db, instance_id: &str, status: OrderStatus) {
    let written = match db {
        Db::Sqlite(pool) => sqlx::query("UPDATE orders SET status = ? WHERE instance_id = ?")
            .bind(status)
            .bind(instance_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
        Db::Postgres(pool) => sqlx::query("UPDATE orders SET status = $1 WHERE instance_id = $2")
            .bind(status)
            .bind(instance_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
    };
    assert_eq!(written.expect("set status"), 1);
}

fn facts(i: i64, requester: &str) -> OrderFacts {
    OrderFacts {
        instance_id: format!("po-{i:03}"),
        order_id: format!("{i:03}"),
        product: format!("Product {i}"),
        quantity: 1,
        unit_cost: Cents(200_000),
        requested_by: Some(requester.into()),
    }
}

/// 60 waiting orders (deadlines in tied groups of 20) and 40 decided ones (decision
/// times in tied groups of 10), from two requesters.
async fn seeded() -> (Db, tempfile::TempDir) {
    let (db, dir) = fresh_db().await;
    seed(&db).await;
    (db, dir)
}

/// The same orders in a SQLite database, whatever the round's database: for the
/// tests of SQLite's query plans.
async fn seeded_sqlite() -> (sqlx::SqlitePool, tempfile::TempDir) {
    let (pool, dir) = crate::store::db::temporary_sqlite().await;
    seed(&Db::Sqlite(pool.clone())).await;
    (pool, dir)
}

async fn seed(db: &Db) {
    for i in 0..100 {
        let f = facts(i, if i % 2 == 0 { "alice" } else { "dave" });
        // Creation times tie in groups of 5.
        let created = 1_000 + i / 5;
        mark_awaiting(db, &f, 50_000 + i % 3, created)
            .await
            .expect("waits");
        if i >= 60 {
            record_outcome(
                db,
                &f,
                OrderStatus::Approved,
                Some("bob"),
                60_000 + i % 4,
                60_000,
            )
            .await
            .expect("decided");
        }
    }
}

fn queries() -> Vec<(&'static str, OrderQuery)> {
    vec![
        (
            "pending",
            OrderQuery {
                status: Some(OrderStatus::AwaitingApproval),
                ..Default::default()
            },
        ),
        (
            "decided",
            OrderQuery {
                decided_only: true,
                ..Default::default()
            },
        ),
        (
            "approved",
            OrderQuery {
                status: Some(OrderStatus::Approved),
                ..Default::default()
            },
        ),
        (
            "one requester",
            OrderQuery {
                requested_by: Some("alice".into()),
                ..Default::default()
            },
        ),
        ("everything", OrderQuery::default()),
        (
            "a manager's inbox",
            OrderQuery {
                status: Some(OrderStatus::AwaitingApproval),
                deciders: vec![Decider {
                    role: Role::Manager,
                    people: vec!["bob".into()],
                }],
                ..Default::default()
            },
        ),
    ]
}

#[tokio::test]
async fn paging_visits_every_order_once_in_order() {
    let (db, _dir) = seeded().await;
    for (name, query) in queries() {
        let total = count(&db, &query).await.expect("counts");
        let all = list(&db, &query, 1_000, 0).await.expect("lists");
        assert_eq!(all.len() as i64, total, "{name}");
        // Pending: soonest deadline first, ties by instance id. The rest: latest
        // first, ties by instance id descending.
        let mut expected = all.clone();
        expected.sort_by(|a, b| match name {
            "pending" | "a manager's inbox" => {
                (a.deadline, &a.instance_id).cmp(&(b.deadline, &b.instance_id))
            }
            "decided" => (b.decided_at, &b.instance_id).cmp(&(a.decided_at, &a.instance_id)),
            _ => (b.created_at, &b.instance_id).cmp(&(a.created_at, &a.instance_id)),
        });
        let ids = |rows: &[OrderRow]| {
            rows.iter()
                .map(|r| r.instance_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&all), ids(&expected), "{name}: order");
        let mut paged = Vec::new();
        for offset in (0..total).step_by(7) {
            paged.extend(list(&db, &query, 7, offset).await.expect("pages"));
        }
        assert_eq!(ids(&paged), ids(&all), "{name}: pages");
    }
}

/// Each list is read in order straight off an index: no per-request sort of the
/// whole set, and OFFSET skips index entries. (SQLite plans the same for 10 rows as
/// for 10,000 here: no ANALYZE statistics are kept.)
#[tokio::test]
async fn every_list_reads_its_order_off_an_index() {
    let (pool, _dir) = seeded_sqlite().await;
    let pool = &pool;
    for (name, query) in queries() {
        let mut q =
            super::list::listing(&query, "EXPLAIN QUERY PLAN SELECT * FROM orders", &SQLITE);
        let plan: Vec<(i64, i64, i64, String)> =
            q.build_query_as().fetch_all(pool).await.expect("explains");
        let plan: Vec<String> = plan.into_iter().map(|(_, _, _, step)| step).collect();
        assert!(
            plan.iter().all(|step| !step.contains("TEMP B-TREE")),
            "{name} sorts per request: {plan:?}"
        );
        assert!(
            plan.iter().any(|step| step.contains("INDEX")),
            "{name} scans the table: {plan:?}"
        );
    }
}

/// An inbox, filtered to what its reader may decide, is read and counted off the
/// index it walks, whatever its sort: the table is read only for the rows shown.
#[tokio::test]
async fn an_inbox_filters_and_counts_off_its_index() {
    let (pool, _dir) = seeded_sqlite().await;
    let pool = &pool;
    for sort in [
        None,
        Some(SortKey::Deadline),
        Some(SortKey::Amount),
        Some(SortKey::Created),
    ] {
        let query = OrderQuery {
            status: Some(OrderStatus::AwaitingApproval),
            deciders: vec![Decider {
                role: Role::Manager,
                people: vec!["bob".into()],
            }],
            sort,
            ..Default::default()
        };
        let mut q = sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM orders");
        super::list::push_filters(&query, &mut q, false, &SQLITE);
        let plan: Vec<(i64, i64, i64, String)> =
            q.build_query_as().fetch_all(pool).await.expect("explains");
        assert!(
            plan.iter()
                .any(|(_, _, _, step)| step.contains("COVERING INDEX")),
            "{sort:?}: the count reads the table: {plan:?}"
        );
    }
}

#[test]
fn final_statuses_in_sql_are_the_final_ones() {
    let expected: Vec<String> = OrderStatus::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    assert_eq!(FINAL_STATUSES, format!("({})", expected.join(", ")));
}

/// The static queries spell the final statuses out: a row in a final status is
/// never moved again, one in any other status is.
#[tokio::test]
async fn final_rows_are_never_overwritten() {
    let (db, _dir) = fresh_db().await;
    for (i, status) in OrderStatus::ALL.into_iter().enumerate() {
        let f = facts(i as i64, "alice");
        mark_awaiting(&db, &f, 50_000, 1_000).await.expect("waits");
        set_status(&db, &f.instance_id, status).await;
        let recorded = record_outcome(&db, &f, OrderStatus::Rejected, Some("bob"), 2, 2)
            .await
            .expect("records");
        let finished = finish(
            &db,
            &f.instance_id,
            OrderStatus::Failed,
            None,
            None,
            None,
            3,
        )
        .await
        .expect("finishes");
        assert_eq!(recorded, !status.is_final(), "record_outcome on {status}");
        assert!(!finished, "finish after an outcome on {status}");
    }
}

#[tokio::test]
async fn an_unknown_status_in_the_database_is_an_error() {
    let (db, _dir) = fresh_db().await;
    mark_awaiting(&db, &facts(1, "alice"), 50_000, 1_000)
        .await
        .expect("waits");
    // The CHECK constraint keeps unknown statuses out; a value only a newer build
    // knows would look like this to us.
    const UNKNOWN: &str = "UPDATE orders SET status = 'escalated' WHERE instance_id = 'po-001'";
    match &db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await.expect("connection");
            sqlx::query("PRAGMA ignore_check_constraints = ON")
                .execute(&mut *conn)
                .await
                .expect("pragma");
            sqlx::query(UNKNOWN)
                .execute(&mut *conn)
                .await
                .expect("written past the check");
        }
        Db::Postgres(pool) => {
            sqlx::query("ALTER TABLE orders DROP CONSTRAINT orders_status_check")
                .execute(pool)
                .await
                .expect("the check dropped");
            sqlx::query(UNKNOWN)
                .execute(pool)
                .await
                .expect("written past the check");
        }
    }
    let read = get(&db, "po-001").await;
    assert!(read.is_err(), "read as {read:?}");
}

/// Whoever had claimed an order that then timed out or failed did not decide it.
#[tokio::test]
async fn a_claimant_is_never_shown_as_deciding_a_timeout_or_failure() {
    let (db, _dir) = fresh_db().await;
    for (i, outcome) in [OrderStatus::TimedOut, OrderStatus::Failed]
        .into_iter()
        .enumerate()
    {
        let f = facts(i as i64, "alice");
        mark_awaiting(&db, &f, 50_000, 1_000).await.expect("waits");
        assert!(claim_decision(
            &db,
            &f.instance_id,
            None,
            None,
            Decision::Approve,
            "bob",
            Some("ok"),
            Via::App,
            2_000
        )
        .await
        .expect("claims"));
        assert!(
            finish(&db, &f.instance_id, outcome, None, Some(3_000), None, 3_000)
                .await
                .expect("finishes")
        );
        let view = get(&db, &f.instance_id)
            .await
            .expect("reads")
            .expect("row")
            .view();
        assert_eq!(view.status, outcome);
        assert_eq!(view.decided_by, None, "{outcome}");
        assert_eq!(view.comment, None, "{outcome}");
    }
}

#[tokio::test]
async fn asking_the_next_level_keeps_the_approval_and_never_goes_back() {
    let (db, _dir) = fresh_db().await;
    let f = facts(1, "alice");
    let ask = |number: u32, approved_by: &[&str]| LevelAsk {
        number,
        of: 2,
        role: if number == 1 {
            Role::Manager
        } else {
            Role::Director
        },
        approved_by: approved_by.iter().map(|n| n.to_string()).collect(),
        escalated: false,
    };
    mark_awaiting_level(&db, &f, &ask(1, &[]), 50_000, 1_000)
        .await
        .expect("level 1");
    let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
    assert_eq!(
        (row.level, row.levels, row.level_role),
        (Some(1), Some(2), Some(Role::Manager))
    );
    assert!(
        !claim_decision(
            &db,
            &f.instance_id,
            Some(2),
            Some(Role::Manager),
            Decision::Approve,
            "bob",
            None,
            Via::App,
            2_000
        )
        .await
        .expect("claims"),
        "a claim for another level than the order's is refused"
    );
    assert!(claim_decision(
        &db,
        &f.instance_id,
        Some(1),
        Some(Role::Manager),
        Decision::Approve,
        "bob",
        Some("fine"),
        Via::App,
        2_000
    )
    .await
    .expect("claims"));

    for _ in 0..2 {
        mark_awaiting_level(&db, &f, &ask(2, &["bob"]), 90_000, 3_000)
            .await
            .expect("level 2, as often as the activity runs");
    }
    // A late replay of level 1's request moves nothing back.
    mark_awaiting_level(&db, &f, &ask(1, &[]), 50_000, 4_000)
        .await
        .expect("level 1 again");
    let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
    assert_eq!(
        (row.level, row.level_role, row.deadline),
        (Some(2), Some(Role::Director), Some(90_000))
    );
    assert_eq!(
        (row.decision, row.decided_by.as_deref()),
        (None, None),
        "the claim is free for level 2"
    );
    assert!(row.approved_a_level("bob") && !row.approved_a_level("bo"));
    let approvals = level_approvals(&db, &f.instance_id).await.expect("reads");
    assert_eq!(approvals.len(), 1);
    assert_eq!(
        (approvals[0].role, approvals[0].requested_at),
        (Some(Role::Manager), Some(1_000))
    );
    assert_eq!(
        (
            approvals[0].level,
            approvals[0].approved_by.as_str(),
            approvals[0].comment.as_deref(),
            approvals[0].approved_at
        ),
        (1, "bob", Some("fine"), 2_000)
    );
}

/// Who approved the levels before is stored as `bob,carol,dora` (a delegate and the
/// one they acted for, both), NULL for nobody, and read back as the same names by every
/// statement that reads a row, on either database.
#[tokio::test]
async fn level_approvers_are_stored_comma_separated_and_read_back_as_names() {
    let (db, _dir) = fresh_db().await;
    let f = facts(1, "alice");
    let ask = |number: u32, approved_by: &[&str]| LevelAsk {
        number,
        of: 3,
        role: Role::Manager,
        approved_by: approved_by.iter().map(|n| n.to_string()).collect(),
        escalated: false,
    };
    const STORED: &str = "SELECT level_approvers FROM orders";
    let stored = || async {
        match &db {
            Db::Sqlite(pool) => {
                sqlx::query_scalar::<_, Option<String>>(STORED)
                    .fetch_one(pool)
                    .await
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar::<_, Option<String>>(STORED)
                    .fetch_one(pool)
                    .await
            }
        }
        .expect("reads the column")
    };
    mark_awaiting_level(&db, &f, &ask(1, &[]), 50_000, 1_000)
        .await
        .expect("level 1");
    assert_eq!(stored().await, None::<String>, "nobody is NULL");
    let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
    assert!(row.level_approvers.is_empty());

    mark_awaiting_level(&db, &f, &ask(3, &["bob", "carol for dora"]), 50_000, 2_000)
        .await
        .expect("level 3");
    assert_eq!(stored().await.as_deref(), Some("bob,carol,dora"));
    let names = ["bob", "carol", "dora"];
    let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
    assert_eq!(row.level_approvers.iter().collect::<Vec<_>>(), names);
    // The list's statement is built at run time on both databases (`FromRow`).
    let listed = list(&db, &OrderQuery::default(), 10, 0)
        .await
        .expect("lists");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].level_approvers, row.level_approvers);
    assert!(names.iter().all(|n| listed[0].approved_a_level(n)));
    assert!(!listed[0].approved_a_level("carol for dora"));
    // The inbox's SQL test of the same text agrees.
    let inbox = |name: &str| OrderQuery {
        deciders: vec![Decider {
            role: Role::Manager,
            people: vec![name.to_owned()],
        }],
        ..OrderQuery::default()
    };
    for (name, fits) in [
        ("dora", false),
        ("carol", false),
        ("erin", true),
        ("car", true),
    ] {
        let found = list(&db, &inbox(name), 10, 0).await.expect("lists");
        assert_eq!(found.len(), usize::from(fits), "{name}");
    }
}

fn ids(rows: &[OrderRow]) -> Vec<&str> {
    rows.iter().map(|r| r.instance_id.as_str()).collect()
}

/// The text filter ignores case (SQLite's `LIKE` does for ASCII, PostgreSQL's
/// `ILIKE` too) and takes `%`, `_` and `\` as themselves.
#[tokio::test]
async fn the_text_filter_ignores_case_and_takes_wildcards_literally() {
    let (db, _dir) = fresh_db().await;
    for (i, product, requester) in [
        (1, "Standing Desk", "alice"),
        (2, "desk lamp", "dave"),
        (3, "100% cotton", "alice"),
        (4, "1000 cotton buds", "alice"),
        (5, "a_b", "alice"),
        (6, "axb", "alice"),
        (7, r"back\slash", "DESKMAN"),
    ] {
        let f = OrderFacts {
            product: product.into(),
            ..facts(i, requester)
        };
        insert_submitted(&db, &f, 1_000 + i)
            .await
            .expect("inserted");
    }
    for (text, expected) in [
        ("DESK", vec!["po-007", "po-002", "po-001"]),
        ("  desk  ", vec!["po-007", "po-002", "po-001"]),
        ("0%", vec!["po-003"]),
        ("a_b", vec!["po-005"]),
        (r"k\s", vec!["po-007"]),
        (
            "ALICE",
            vec!["po-006", "po-005", "po-004", "po-003", "po-001"],
        ),
        ("004", vec!["po-004"]),
        ("nothing like it", vec![]),
    ] {
        let query = OrderQuery {
            text: Some(text.into()),
            ..Default::default()
        };
        let rows = list(&db, &query, 100, 0).await.expect("lists");
        assert_eq!(ids(&rows), expected, "{text:?}");
        assert_eq!(
            count(&db, &query).await.expect("counts"),
            expected.len() as i64,
            "{text:?}"
        );
    }
}

/// An inbox holds the orders whose level its readers' roles reach, and none that one
/// of the people it is for approved at an earlier level.
#[tokio::test]
async fn an_inbox_leaves_out_what_its_readers_may_not_decide() {
    let (db, _dir) = fresh_db().await;
    // po-001: the seed's single level; po-002: level 1 of 2, for a manager;
    // po-003: level 2 of 2, for a director, bob (for carol) approved level 1.
    mark_awaiting(&db, &facts(1, "alice"), 50_000, 1_000)
        .await
        .expect("waits");
    let ask = |number: u32, role: Role, approved_by: &[&str]| LevelAsk {
        number,
        of: 2,
        role,
        approved_by: approved_by.iter().map(|n| n.to_string()).collect(),
        escalated: false,
    };
    mark_awaiting_level(
        &db,
        &facts(2, "alice"),
        &ask(1, Role::Manager, &[]),
        50_001,
        1_000,
    )
    .await
    .expect("level 1");
    let on_behalf = Actor::acting_for("bob", "carol").to_string();
    mark_awaiting_level(
        &db,
        &facts(3, "alice"),
        &ask(2, Role::Director, &[on_behalf.as_str()]),
        50_002,
        1_000,
    )
    .await
    .expect("level 2");
    let decider = |role: Role, people: &[&str]| Decider {
        role,
        people: people.iter().map(|n| n.to_string()).collect(),
    };
    for (deciders, expected) in [
        (
            vec![decider(Role::Manager, &["bob"])],
            vec!["po-001", "po-002"],
        ),
        (
            vec![decider(Role::Manager, &["dan"])],
            vec!["po-001", "po-002"],
        ),
        (
            vec![decider(Role::Director, &["dora"])],
            vec!["po-001", "po-002", "po-003"],
        ),
        (
            vec![decider(Role::Director, &["carol"])],
            vec!["po-001", "po-002"],
        ),
        (
            vec![decider(Role::Director, &["bob"])],
            vec!["po-001", "po-002"],
        ),
        // Not a prefix or part of a name: "bo" approved nothing.
        (
            vec![decider(Role::Director, &["bo"])],
            vec!["po-001", "po-002", "po-003"],
        ),
        // A manager acting for a director who approved nothing.
        (
            vec![
                decider(Role::Manager, &["bob"]),
                decider(Role::Director, &["dora"]),
            ],
            vec!["po-001", "po-002", "po-003"],
        ),
        // The same manager acting for the director who approved level 1.
        (
            vec![
                decider(Role::Manager, &["bob"]),
                decider(Role::Director, &["bob", "carol"]),
            ],
            vec!["po-001", "po-002"],
        ),
    ] {
        let query = OrderQuery {
            status: Some(OrderStatus::AwaitingApproval),
            deciders: deciders.clone(),
            ..Default::default()
        };
        let rows = list(&db, &query, 100, 0).await.expect("lists");
        assert_eq!(ids(&rows), expected, "{deciders:?}");
        assert_eq!(
            count(&db, &query).await.expect("counts"),
            expected.len() as i64,
            "{deciders:?}"
        );
    }
}

/// Orders without a deadline or a decision time sort as SQLite sorts NULLs: before
/// every value going up, after every value going down.
#[tokio::test]
async fn orders_without_the_sorted_value_sort_before_the_rest_going_up() {
    let (db, _dir) = fresh_db().await;
    for i in 1..=4 {
        insert_submitted(&db, &facts(i, "alice"), 1_000 + i)
            .await
            .expect("inserted");
    }
    mark_awaiting(&db, &facts(2, "alice"), 60_000, 2_000)
        .await
        .expect("waits");
    mark_awaiting(&db, &facts(3, "alice"), 50_000, 2_000)
        .await
        .expect("waits");
    // po-002 is decided at a time, po-004 fails with none.
    assert!(finish(
        &db,
        "po-002",
        OrderStatus::Approved,
        Some("bob"),
        Some(3_000),
        None,
        3_000
    )
    .await
    .expect("finishes"));
    assert!(finish(
        &db,
        "po-004",
        OrderStatus::Failed,
        None,
        None,
        Some("boom"),
        3_000
    )
    .await
    .expect("finishes"));
    let by_deadline = OrderQuery {
        sort: Some(SortKey::Deadline),
        ..Default::default()
    };
    let rows = list(&db, &by_deadline, 100, 0).await.expect("lists");
    assert_eq!(ids(&rows), ["po-001", "po-004", "po-003", "po-002"]);
    let decided = OrderQuery {
        decided_only: true,
        ..Default::default()
    };
    let rows = list(&db, &decided, 100, 0).await.expect("lists");
    assert_eq!(ids(&rows), ["po-002", "po-004"]);
    assert_eq!(count(&db, &decided).await.expect("counts"), 2);
    let failed = get(&db, "po-004").await.expect("reads").expect("row");
    assert_eq!(
        (failed.attention.as_deref(), failed.attention_since),
        (Some("boom"), Some(3_000))
    );
}

/// The writes and reads around an order that needs an operator, and its timeline.
#[tokio::test]
async fn an_order_in_trouble_is_flagged_terminated_and_recorded() {
    let (db, _dir) = fresh_db().await;
    let f = facts(1, "alice");
    let row = insert_submitted(&db, &f, 1_000).await.expect("inserted");
    assert_eq!(
        (row.status, row.total_cents, row.created_at, row.updated_at),
        (OrderStatus::Submitted, Cents(200_000), 1_000, 1_000)
    );
    assert!(matches!(
        insert_submitted(&db, &f, 1_001).await,
        Err(InsertError::Duplicate)
    ));
    mark_awaiting(&db, &f, 50_000, 2_000).await.expect("waits");
    mark_awaiting(&db, &facts(2, "dave"), 40_000, 1_500)
        .await
        .expect("waits");

    // Stuck: past its deadline by `stuck_before`, or needing attention.
    let unsettled_ids = |everything, stuck_before, after: &'static str| {
        let db = db.clone();
        async move {
            unsettled(&db, everything, stuck_before, after, 10)
                .await
                .expect("reads")
                .into_iter()
                .map(|r| r.instance_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(unsettled_ids(true, 0, "").await, ["po-001", "po-002"]);
    assert_eq!(unsettled_ids(true, 0, "po-001").await, ["po-002"]);
    assert!(unsettled_ids(false, 30_000, "").await.is_empty());
    assert_eq!(unsettled_ids(false, 45_000, "").await, ["po-002"]);

    assert!(set_attention(&db, "po-001", Some("stuck"), 3_000)
        .await
        .expect("flags"));
    assert!(
        !set_attention(&db, "po-001", Some("stuck"), 4_000)
            .await
            .expect("flags"),
        "the same reason again writes nothing"
    );
    assert!(set_attention(&db, "po-001", Some("stuck worse"), 5_000)
        .await
        .expect("flags"));
    let row = get(&db, "po-001").await.expect("reads").expect("row");
    assert_eq!(
        (row.attention.as_deref(), row.attention_since),
        (Some("stuck worse"), Some(3_000)),
        "it needs attention since it first did"
    );
    assert_eq!(unsettled_ids(false, 0, "").await, ["po-001"]);
    let summary = waiting_summary(&db).await.expect("summarises");
    assert_eq!(
        (
            summary.waiting,
            summary.oldest_since,
            summary.needing_attention
        ),
        (2, Some(1_000), 1)
    );
    let stuck = needing_attention(&db, 10).await.expect("reads");
    assert_eq!(ids(&stuck), ["po-001"]);
    assert!(set_attention(&db, "po-001", None, 6_000)
        .await
        .expect("clears"));
    assert!(!set_attention(&db, "po-001", None, 6_000)
        .await
        .expect("clears"));
    let row = get(&db, "po-001").await.expect("reads").expect("row");
    assert_eq!((row.attention, row.attention_since), (None, None));
    assert!(needing_attention(&db, 10).await.expect("reads").is_empty());

    // A claim, given back by its holder only.
    assert!(claim_decision(
        &db,
        "po-001",
        None,
        None,
        Decision::Reject,
        "bob",
        None,
        Via::App,
        7_000
    )
    .await
    .expect("claims"));
    release_claim(&db, "po-001", "carol")
        .await
        .expect("releases");
    assert_eq!(
        get(&db, "po-001")
            .await
            .expect("reads")
            .expect("row")
            .decision,
        Some(Decision::Reject)
    );
    release_claim(&db, "po-001", "bob").await.expect("releases");
    let row = get(&db, "po-001").await.expect("reads").expect("row");
    assert_eq!(
        (row.decision, row.decided_by, row.claimed_at),
        (None, None, None)
    );
    assert!(
        !claim_decision(
            &db,
            "po-001",
            None,
            None,
            Decision::Approve,
            "bob",
            None,
            Via::App,
            60_000
        )
        .await
        .expect("claims"),
        "too late: the deadline passed"
    );

    add_timeline(&db, "po-001", "reminder:1", "Reminder sent", 8_000)
        .await
        .expect("adds");
    add_timeline(&db, "po-001", "reminder:1", "Reminder sent again", 8_500)
        .await
        .expect("adds nothing");
    add_timeline(&db, "po-001", "escalated:1", "Escalated", 7_500)
        .await
        .expect("adds");
    let events: Vec<(i64, String)> = timeline(&db, "po-001")
        .await
        .expect("reads")
        .into_iter()
        .map(|e| (e.at, e.label))
        .collect();
    assert_eq!(
        events,
        [
            (7_500, "Escalated".to_string()),
            (8_000, "Reminder sent".to_string())
        ]
    );

    record_operator_action(&db, "po-001", "root", OperatorAction::Redrive, None, 9_000)
        .await
        .expect("records");
    assert!(terminate(&db, "po-001", "root", "gone wrong", 9_500)
        .await
        .expect("terminates"));
    let row = get(&db, "po-001").await.expect("reads").expect("row");
    assert_eq!(row.status, OrderStatus::Failed);
    assert_eq!(
        row.failure.as_deref(),
        Some("Terminated by root: gone wrong")
    );
    let actions: Vec<(String, OperatorAction, Option<String>, i64)> =
        operator_actions(&db, "po-001")
            .await
            .expect("reads")
            .into_iter()
            .map(|a| (a.actor, a.action, a.reason, a.at))
            .collect();
    assert_eq!(
        actions,
        [
            ("root".into(), OperatorAction::Redrive, None, 9_000),
            (
                "root".into(),
                OperatorAction::Terminate,
                Some("gone wrong".into()),
                9_500
            )
        ]
    );
    assert!(
        record_outcome(&db, &f, OrderStatus::Approved, Some("bob"), 10_000, 10_000)
            .await
            .is_ok_and(|finished| !finished),
        "a terminated order keeps its end"
    );

    // A start taken back: only while it is submitted.
    delete_submitted(&db, "po-002").await.expect("deletes");
    assert!(get(&db, "po-002").await.expect("reads").is_some());
    insert_submitted(&db, &facts(3, "alice"), 11_000)
        .await
        .expect("inserted");
    delete_submitted(&db, "po-003").await.expect("deletes");
    assert!(get(&db, "po-003").await.expect("reads").is_none());
    assert!(!terminate(&db, "po-003", "root", "gone", 12_000)
        .await
        .expect("nothing to terminate"));
}

/// An escalation asks a director at the same level: once, with a timeline entry.
#[tokio::test]
async fn an_escalation_moves_the_level_to_a_director_once() {
    let (db, _dir) = fresh_db().await;
    let f = facts(1, "alice");
    let ask = |role: Role, escalated: bool| LevelAsk {
        number: 1,
        of: 1,
        role,
        approved_by: Vec::new(),
        escalated,
    };
    mark_awaiting_level(&db, &f, &ask(Role::Manager, false), 50_000, 1_000)
        .await
        .expect("level 1");
    assert!(claim_decision(
        &db,
        &f.instance_id,
        Some(1),
        Some(Role::Manager),
        Decision::Approve,
        "bob",
        None,
        Via::App,
        1_500
    )
    .await
    .expect("claims"));
    for _ in 0..2 {
        mark_awaiting_level(&db, &f, &ask(Role::Director, true), 90_000, 2_000)
            .await
            .expect("escalated");
    }
    let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
    assert_eq!(
        (row.level, row.level_role, row.deadline, row.decision),
        (Some(1), Some(Role::Director), Some(90_000), None)
    );
    let events = timeline(&db, &f.instance_id).await.expect("reads");
    assert_eq!(events.len(), 1);
    assert!(events[0].label.starts_with("Nobody decided in time"));
    // The old claim's level and role no longer fit.
    assert!(!claim_decision(
        &db,
        &f.instance_id,
        Some(1),
        Some(Role::Manager),
        Decision::Approve,
        "bob",
        None,
        Via::App,
        2_500
    )
    .await
    .expect("claims"));
    assert!(claim_decision(
        &db,
        &f.instance_id,
        Some(1),
        Some(Role::Director),
        Decision::Approve,
        "dora",
        None,
        Via::App,
        2_500
    )
    .await
    .expect("claims"));
}

/// The inbox's SQL filter (the `deciders` of [`OrderQuery`], from
/// `policy::inbox_deciders`) is the policy's rule (`policy::inbox_shows`), and agrees
/// with the rule a decision follows (`policy::deciding_as`): on generated orders
/// (levels, roles, earlier approvers, delegates among them, requesters) and readers
/// (every role, with and without delegations held), an inbox lists exactly what the
/// policy shows, everything a decision admits, and beyond that only own orders. The
/// filter is SQL and the rules Rust, so this is what keeps them one rule.
#[tokio::test]
async fn the_inbox_filter_is_the_decision_rule_on_generated_cases() {
    use crate::model::people::{Actor, Delegator, User};
    use crate::rules::policy;

    // A small fixed-seed generator (xorshift): the same cases on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let people = [
        ("alice", Role::Requester),
        ("bob", Role::Manager),
        ("carol", Role::Manager),
        ("dora", Role::Director),
        ("erin", Role::Director),
    ];
    let (db, _dir) = fresh_db().await;
    for i in 0..160 {
        let requester = people[next(people.len() as u64) as usize].0;
        let f = facts(i, requester);
        if next(4) == 0 {
            // The seed's single level.
            mark_awaiting(&db, &f, 50_000, 1_000).await.expect("waits");
            continue;
        }
        let of = 1 + next(3) as u32;
        let number = 1 + next(u64::from(of)) as u32;
        let role = if next(2) == 0 {
            Role::Manager
        } else {
            Role::Director
        };
        let approved_by = (1..number)
            .map(|_| {
                let who = people[1 + next(4) as usize].0;
                if next(3) == 0 {
                    let whom = people[1 + next(4) as usize].0;
                    Actor::acting_for(who, whom).to_string()
                } else {
                    who.to_owned()
                }
            })
            .collect();
        let ask = LevelAsk {
            number,
            of,
            role,
            approved_by,
            escalated: false,
        };
        mark_awaiting_level(&db, &f, &ask, 50_000, 1_000)
            .await
            .expect("waits at a level");
    }
    let waiting = OrderQuery {
        status: Some(OrderStatus::AwaitingApproval),
        ..Default::default()
    };
    let all = list(&db, &waiting, 1_000, 0).await.expect("lists");
    assert_eq!(all.len(), 160);
    let holdings: [&[(&str, Role)]; 3] = [
        &[],
        &[("dora", Role::Director)],
        &[("bob", Role::Manager), ("erin", Role::Director)],
    ];
    let mut decidable = 0;
    for (id, (name, role)) in people.iter().enumerate() {
        let user = User {
            id: id as i64,
            name: (*name).to_owned(),
            role: *role,
            created_at: 0,
        };
        for held in holdings {
            let delegators: Vec<Delegator> = held
                .iter()
                .filter(|(delegator, _)| delegator != name)
                .map(|(delegator, role)| Delegator {
                    name: (*delegator).to_owned(),
                    role: *role,
                })
                .collect();
            let inbox = OrderQuery {
                deciders: policy::inbox_deciders(&user, &delegators),
                ..waiting.clone()
            };
            let listed = if inbox.deciders.is_empty() {
                Vec::new()
            } else {
                list(&db, &inbox, 1_000, 0).await.expect("lists")
            };
            let ruled: Vec<OrderRow> = all
                .iter()
                .filter(|row| policy::inbox_shows(&inbox.deciders, row))
                .cloned()
                .collect();
            assert_eq!(
                ids(&listed),
                ids(&ruled),
                "{name} holding {held:?}: the inbox's SQL and policy::inbox_shows disagree"
            );
            // What a decision admits is shown; what is shown and not admitted is the
            // reader's own order, or that of someone they act for.
            for row in &all {
                let admitted = policy::deciding_as(&user, row, None, &delegators).is_ok();
                let shown = ids(&listed).contains(&row.instance_id.as_str());
                assert!(
                    !admitted || shown,
                    "{name}: {} decidable, not shown",
                    row.instance_id
                );
                let own = row
                    .requested_by
                    .as_deref()
                    .is_some_and(|r| r == *name || delegators.iter().any(|d| d.name == r));
                assert!(
                    admitted || !shown || own,
                    "{name}: {} shown, not decidable, not anyone's own",
                    row.instance_id
                );
                decidable += usize::from(admitted);
            }
            if !inbox.deciders.is_empty() {
                // (No deciders at all means no such filter: the inbox is refused
                // to those, before any query.)
                assert_eq!(
                    count(&db, &inbox).await.expect("counts"),
                    ruled.len() as i64,
                    "{name} holding {held:?}: the count"
                );
            }
        }
    }
    assert!(decidable > 100, "the cases decide something: {decidable}");
}
