-- Work that one replica at a time should do (the reconciler): whoever holds a name's
-- row until `expires_at` does it, and renews it while they do.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
