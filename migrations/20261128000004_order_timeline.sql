-- What happened to an order besides its decisions, for its timeline: reminders sent and
-- escalations (issue 13 §3). One row per event (`reminder:1`, `escalated:1`), written
-- by the workflow's activities, so a re-run adds nothing.
CREATE TABLE order_timeline (
    instance_id TEXT NOT NULL REFERENCES orders (instance_id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    at          INTEGER NOT NULL,
    label       TEXT NOT NULL,
    PRIMARY KEY (instance_id, key)
);
