-- Every list orders by a time and then the instance id. With the instance id in the
-- index, SQLite reads a page straight off the index: no sort of the whole set per
-- request, and OFFSET skips index entries instead of table rows (a deep inbox page at
-- 10,000 pending: 11 ms → under 1 ms; the Decided tab's first page: 35 → 0.1 ms).
DROP INDEX orders_by_status_deadline;
CREATE INDEX orders_by_status_deadline ON orders (status, deadline, instance_id);
DROP INDEX orders_by_created;
CREATE INDEX orders_by_created ON orders (created_at, instance_id);
DROP INDEX orders_by_requester;
CREATE INDEX orders_by_requester ON orders (requested_by, created_at, instance_id);
DROP INDEX orders_by_decided;
CREATE INDEX orders_by_decided ON orders (decided_at, instance_id);
DROP INDEX orders_by_status_created;
CREATE INDEX orders_by_status_created ON orders (status, created_at, instance_id);
