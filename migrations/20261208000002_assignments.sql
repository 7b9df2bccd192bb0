-- Assign, claim, reassign (issue 25 §2): who holds a waiting order's current level,
-- named by account. A decider claims it ("I'll take this") or assigns it to a colleague
-- who may decide that level; it ends when the level ends (the next level, an
-- escalation, the outcome: the level's writes clear it). Holding an order decides
-- nothing: whoever the policy lets decide still may.
ALTER TABLE orders ADD COLUMN assignee TEXT;
-- The inbox's "assigned to me" filter.
CREATE INDEX orders_by_assignee ON orders (assignee, deadline) WHERE assignee IS NOT NULL;
