-- Orders an operator should look at, and why: a workflow that failed, one whose state
-- Dapr cannot load, one past its deadline with no outcome. Set and cleared by the
-- reconciler; an operator's terminate clears it. Orders that failed before this
-- migration need attention too.
ALTER TABLE orders ADD COLUMN attention TEXT;
ALTER TABLE orders ADD COLUMN attention_since INTEGER;
UPDATE orders SET attention = COALESCE(failure, 'workflow failed'), attention_since = updated_at
 WHERE status = 'failed';
CREATE INDEX orders_needing_attention ON orders (attention_since, instance_id)
 WHERE attention IS NOT NULL;

-- What operators did to an order (`server order terminate`, `server order redrive`):
-- the audit trail, and the order's timeline.
CREATE TABLE operator_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('terminate', 'redrive')),
    reason      TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX operator_actions_by_instance ON operator_actions (instance_id, at);
