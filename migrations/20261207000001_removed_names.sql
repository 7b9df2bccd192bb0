-- A removed account's name stays taken (issue 24 §6): orders, decisions, delegations and
-- the audit trail name people by name, so a new account under an old name would inherit
-- the old person's history. `user remove` records the name here in the same transaction
-- that deletes the account; `user add` never takes a name listed here.
CREATE TABLE removed_names (
    name       TEXT PRIMARY KEY,
    removed_at INTEGER NOT NULL
);
