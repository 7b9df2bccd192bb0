-- The inbox and the Decided tab sort by deadline, amount or submission time besides
-- their own order. Each sort walks an index in order (skipping rows of the other tab)
-- instead of sorting every matching order for each page; the pending tab's sorts use
-- the status-led indexes.
CREATE INDEX orders_by_status_total ON orders (status, total_cents, instance_id);
CREATE INDEX orders_by_total ON orders (total_cents, instance_id);
CREATE INDEX orders_by_deadline ON orders (deadline, instance_id);
