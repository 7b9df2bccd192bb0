-- Roles gain `director` (issue 13 §2). SQLite cannot change a CHECK in place, so
-- `users` is rebuilt with the same columns, ids and AUTOINCREMENT sequence, in the one
-- transaction every migration runs in. Dropping the old table deletes its sessions and
-- API tokens (ON DELETE CASCADE; foreign keys cannot be turned off inside a
-- transaction), so they are kept aside first and put back after.
CREATE TEMP TABLE sessions_kept AS SELECT * FROM sessions;
CREATE TEMP TABLE api_tokens_kept AS SELECT * FROM api_tokens;

CREATE TABLE users_rebuilt (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('requester', 'manager', 'director')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    email         TEXT CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254)
);
INSERT INTO users_rebuilt (id, name, role, password_hash, created_at, email)
    SELECT id, name, role, password_hash, created_at, email FROM users;
-- Ids of removed accounts are never handed out again.
DELETE FROM sqlite_sequence WHERE name = 'users_rebuilt';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'users_rebuilt', seq FROM sqlite_sequence WHERE name = 'users';
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at)
    SELECT token_hash, user_id, created_at, expires_at, last_seen_at FROM sessions_kept;
INSERT INTO api_tokens (id, token_hash, user_id, created_at, revoked_at, expires_at,
                        last_used_at)
    SELECT id, token_hash, user_id, created_at, revoked_at, expires_at, last_used_at
      FROM api_tokens_kept;
DROP TABLE sessions_kept;
DROP TABLE api_tokens_kept;
