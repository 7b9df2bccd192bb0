-- A requester can cancel their order while it waits: the order gains the status
-- `cancelled`, and a cancellation is claimed like a manager's decision (`cancel`), so
-- that at most one of approve / reject / cancel wins. SQLite cannot change a CHECK in
-- place: the table is rebuilt with the same columns, indexes and triggers.
CREATE TABLE orders_rebuilt (
    instance_id     TEXT PRIMARY KEY NOT NULL,
    order_id        TEXT NOT NULL UNIQUE,
    product         TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
    unit_cost_cents INTEGER NOT NULL CHECK (unit_cost_cents > 0),
    total_cents     INTEGER NOT NULL CHECK (total_cents > 0),
    status          TEXT NOT NULL CHECK (status IN ('submitted', 'awaiting_approval',
                        'auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled',
                        'failed')),
    created_at      INTEGER NOT NULL,
    -- When the workflow's approval timer fires, from the workflow's own clock.
    deadline        INTEGER,
    -- The decision claimed before the event is raised: at most one per order.
    decision        TEXT CHECK (decision IN ('approve', 'reject', 'cancel')),
    decided_by      TEXT,
    claimed_at      INTEGER,
    decided_at      INTEGER,
    failure         TEXT,
    updated_at      INTEGER NOT NULL,
    requested_by    TEXT,
    decision_comment TEXT,
    approval_requested_at INTEGER,
    placed_at       INTEGER,
    attention       TEXT,
    attention_since INTEGER
);
INSERT INTO orders_rebuilt (instance_id, order_id, product, quantity, unit_cost_cents,
        total_cents, status, created_at, deadline, decision, decided_by, claimed_at,
        decided_at, failure, updated_at, requested_by, decision_comment,
        approval_requested_at, placed_at, attention, attention_since)
    SELECT instance_id, order_id, product, quantity, unit_cost_cents,
        total_cents, status, created_at, deadline, decision, decided_by, claimed_at,
        decided_at, failure, updated_at, requested_by, decision_comment,
        approval_requested_at, placed_at, attention, attention_since
    FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;

CREATE INDEX orders_by_status_deadline ON orders (status, deadline, instance_id);
CREATE INDEX orders_by_created ON orders (created_at, instance_id);
CREATE INDEX orders_by_requester ON orders (requested_by, created_at, instance_id);
CREATE INDEX orders_by_decided ON orders (decided_at, instance_id);
CREATE INDEX orders_by_status_created ON orders (status, created_at, instance_id);
CREATE INDEX orders_needing_attention ON orders (attention_since, instance_id)
 WHERE attention IS NOT NULL;
CREATE TRIGGER orders_inserted AFTER INSERT ON orders BEGIN
    INSERT INTO order_changes (instance_id, status, requested_by)
    VALUES (new.instance_id, new.status, new.requested_by);
END;
CREATE TRIGGER orders_updated AFTER UPDATE ON orders BEGIN
    INSERT INTO order_changes (instance_id, status, requested_by)
    VALUES (new.instance_id, new.status, new.requested_by);
END;
CREATE TRIGGER orders_deleted AFTER DELETE ON orders BEGIN
    INSERT INTO order_changes (instance_id, status, requested_by)
    VALUES (old.instance_id, 'deleted', old.requested_by);
END;

-- The audit trail says which of the three was attempted (`approved` alone cannot tell
-- a rejection from a cancellation). Earlier rows were approvals or rejections.
ALTER TABLE decision_audit ADD COLUMN decision TEXT
    CHECK (decision IN ('approve', 'reject', 'cancel'));
UPDATE decision_audit SET decision = CASE approved WHEN 1 THEN 'approve' ELSE 'reject' END;
