-- Notifications (issue 13 §6): an outbox. The workflow's activities add a row per event
-- and recipient, idempotently (a re-run activity adds nothing); senders on any replica
-- claim due rows one at a time, deliver them through a Dapr output binding, and mark
-- them sent, or retry later with a growing pause.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL REFERENCES orders (instance_id) ON DELETE CASCADE,
    -- What happened: `request:{level}` (a decision is asked) or `outcome`.
    event        TEXT NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    -- The person (and their address, as it was) for e-mail; '' for the webhook.
    recipient    TEXT NOT NULL,
    address      TEXT,
    created_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A sender working on it until then; another may take it over after.
    claimed_until INTEGER,
    sent_at      INTEGER,
    -- Not sent, and never will be (the order moved on before it went out).
    skipped_at   INTEGER,
    last_error   TEXT,
    UNIQUE (instance_id, event, channel, recipient)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE sent_at IS NULL AND skipped_at IS NULL;
