-- Where a person is told about orders (issue 13, notifications): optional, set by the
-- CLI or on the settings page. A shared mailbox may serve several accounts, so it is
-- not unique.
ALTER TABLE users ADD COLUMN email TEXT CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254);
