-- Attach the quote (issue 25 §4): files on an order, PDF, PNG or JPEG, at most five.
-- The bytes live behind a Dapr output binding (local storage, or an S3-compatible
-- bucket) under `storage_key`; the read model keeps what the pages and the API show
-- and the SHA-256 a download is checked against. `orders.attachments` counts them, so
-- the inbox shows it without a join and the fifth file's limit holds under races (the
-- count is raised in the same transaction, only while it is below five).
CREATE TABLE order_attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL REFERENCES orders (instance_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL UNIQUE,
    added_by     TEXT NOT NULL,
    at           INTEGER NOT NULL
);
CREATE INDEX order_attachments_by_instance ON order_attachments (instance_id, id);
ALTER TABLE orders ADD COLUMN attachments INTEGER NOT NULL DEFAULT 0;
