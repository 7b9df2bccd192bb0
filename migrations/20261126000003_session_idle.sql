-- Sessions end after a spell of inactivity as well as at their absolute expiry: when
-- each was last used (NULL: not since it was created).
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
