-- Ask and answer on the order (issue 25 §3): a thread of comments, open to the order's
-- requester and to whoever may decide it or has decided it. A decider may mark one as
-- a question to the requester: the order then shows "question open" (since
-- `orders.question_since`) until the requester writes in the thread.
CREATE TABLE order_comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL REFERENCES orders (instance_id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    question    INTEGER NOT NULL DEFAULT 0 CHECK (question IN (0, 1)),
    at          INTEGER NOT NULL
);
CREATE INDEX order_comments_by_instance ON order_comments (instance_id, id);
ALTER TABLE orders ADD COLUMN question_since INTEGER;
