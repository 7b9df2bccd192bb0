-- Read model of purchase-order workflow instances: Dapr cannot list instances, so the
-- inbox and the list API query this table. Times are Unix epoch milliseconds (UTC).
CREATE TABLE orders (
    instance_id     TEXT PRIMARY KEY NOT NULL,
    order_id        TEXT NOT NULL UNIQUE,
    product         TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
    unit_cost_cents INTEGER NOT NULL CHECK (unit_cost_cents > 0),
    total_cents     INTEGER NOT NULL CHECK (total_cents > 0),
    status          TEXT NOT NULL CHECK (status IN ('submitted', 'awaiting_approval',
                        'auto_approved', 'approved', 'rejected', 'timed_out', 'failed')),
    created_at      INTEGER NOT NULL,
    -- When the workflow's approval timer fires, from the workflow's own clock.
    deadline        INTEGER,
    -- A manager's decision claimed before the event is raised: at most one per order.
    decision        TEXT CHECK (decision IN ('approve', 'reject')),
    decided_by      TEXT,
    claimed_at      INTEGER,
    decided_at      INTEGER,
    failure         TEXT,
    updated_at      INTEGER NOT NULL
);

CREATE INDEX orders_by_status_deadline ON orders (status, deadline);
CREATE INDEX orders_by_status_created ON orders (status, created_at);
CREATE INDEX orders_by_created ON orders (created_at);
