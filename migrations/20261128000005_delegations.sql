-- Delegation (issue 13 §4): someone who decides orders hands their decisions to another
-- for a period (out of office). The delegate decides for them, and the record says so
-- ("Approved by carol for dora"). Delegations do not chain.
CREATE TABLE delegations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    delegator  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    delegate   TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CHECK (ends_at > starts_at),
    CHECK (delegator <> delegate)
);
CREATE INDEX delegations_by_delegate ON delegations (delegate, ends_at);
CREATE INDEX delegations_by_delegator ON delegations (delegator, ends_at);
