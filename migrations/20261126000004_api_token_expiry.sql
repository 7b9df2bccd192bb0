-- API tokens may expire (`server token create --expires 90d`), and `token list` shows
-- when each was last used.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
