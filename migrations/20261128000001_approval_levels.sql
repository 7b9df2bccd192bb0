-- Approval levels (issue 13 §2): an order under an approval policy is asked level after
-- level. The row shows the level it waits at; its claim columns (decision, decided_by,
-- decision_comment, claimed_at) hold the claim on that level only. Each level approved
-- before it moves to `order_approvals` when the workflow asks the next one. Orders of
-- the seed's single level leave all of this NULL.
ALTER TABLE orders ADD COLUMN level INTEGER CHECK (level IS NULL OR level >= 1);
ALTER TABLE orders ADD COLUMN levels INTEGER CHECK (levels IS NULL OR levels >= 1);
-- The least role that may decide the level it waits at.
ALTER TABLE orders ADD COLUMN level_role TEXT
    CHECK (level_role IS NULL OR level_role IN ('manager', 'director'));
-- Who approved the levels before it, comma-separated in level order: nobody decides two
-- levels of one order, and the inbox leaves out what its reader already approved.
ALTER TABLE orders ADD COLUMN level_approvers TEXT;

CREATE TABLE order_approvals (
    instance_id TEXT NOT NULL REFERENCES orders (instance_id) ON DELETE CASCADE,
    level       INTEGER NOT NULL CHECK (level >= 1),
    -- The least role the level asked for, and when it was asked (as far as known).
    role        TEXT CHECK (role IS NULL OR role IN ('manager', 'director')),
    requested_at INTEGER,
    approved_by TEXT NOT NULL,
    comment     TEXT,
    approved_at INTEGER NOT NULL,
    PRIMARY KEY (instance_id, level)
);
