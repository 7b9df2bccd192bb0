-- Deciding from the e-mail (issue 25 §1). An e-mail that asks someone to decide carries
-- two links, Approve and Reject; each is a random token kept here only as its SHA-256,
-- bound to one recipient, one order and the level (and its role) it was asked at, good
-- until that level's deadline and for one use. Each delivery attempt writes links of its
-- own (`notification_id` says which notification they went out with).
CREATE TABLE action_links (
    token_hash      TEXT PRIMARY KEY,
    notification_id BIGINT NOT NULL,
    instance_id     TEXT NOT NULL REFERENCES orders (instance_id) ON DELETE CASCADE,
    recipient       TEXT NOT NULL,
    level           BIGINT NOT NULL CHECK (level >= 1),
    role            TEXT NOT NULL CHECK (role IN ('manager', 'director')),
    decision        TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX action_links_by_instance ON action_links (instance_id);

-- Where a decision was made ('app': a page or the API; 'email_link'): the claim on the
-- order says it, the level it approved keeps it, and the audit trail records it. NULL
-- on what was decided before this column.
ALTER TABLE orders ADD COLUMN decided_via TEXT
    CHECK (decided_via IS NULL OR decided_via IN ('app', 'email_link'));
ALTER TABLE order_approvals ADD COLUMN via TEXT
    CHECK (via IS NULL OR via IN ('app', 'email_link'));
ALTER TABLE decision_audit ADD COLUMN via TEXT
    CHECK (via IS NULL OR via IN ('app', 'email_link'));
