-- People, their sessions and API tokens, who requested each order, and an audit trail
-- of every decision attempt.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('requester', 'manager')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Only hashes of session and API tokens are stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

ALTER TABLE orders ADD COLUMN requested_by TEXT;
ALTER TABLE orders ADD COLUMN decision_comment TEXT;
-- For the order's timeline: when the workflow asked for approval and placed the order.
ALTER TABLE orders ADD COLUMN approval_requested_at INTEGER;
ALTER TABLE orders ADD COLUMN placed_at INTEGER;
CREATE INDEX orders_by_requester ON orders (requested_by, created_at);
CREATE INDEX orders_by_decided ON orders (decided_at);

CREATE TABLE decision_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    actor       TEXT NOT NULL,
    approved    INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    -- Why a refused attempt was refused, in words.
    reason      TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX decision_audit_by_instance ON decision_audit (instance_id, at);

-- Every change to an order, in order: server-sent events read this feed, so every
-- replica sharing the database sees every change.
CREATE TABLE order_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    status      TEXT NOT NULL
);
CREATE TRIGGER orders_inserted AFTER INSERT ON orders BEGIN
    INSERT INTO order_changes (instance_id, status) VALUES (new.instance_id, new.status);
END;
CREATE TRIGGER orders_updated AFTER UPDATE ON orders BEGIN
    INSERT INTO order_changes (instance_id, status) VALUES (new.instance_id, new.status);
END;
CREATE TRIGGER orders_deleted AFTER DELETE ON orders BEGIN
    INSERT INTO order_changes (instance_id, status) VALUES (old.instance_id, 'deleted');
END;
