-- The event stream sends each person only the changes to orders they may see (a
-- requester: their own), so every change carries the order's requester.
ALTER TABLE order_changes ADD COLUMN requested_by TEXT;

DROP TRIGGER orders_inserted;
DROP TRIGGER orders_updated;
DROP TRIGGER orders_deleted;
CREATE TRIGGER orders_inserted AFTER INSERT ON orders BEGIN
    INSERT INTO order_changes (instance_id, status, requested_by)
    VALUES (new.instance_id, new.status, new.requested_by);
END;
CREATE TRIGGER orders_updated AFTER UPDATE ON orders BEGIN
    INSERT INTO order_changes (instance_id, status, requested_by)
    VALUES (new.instance_id, new.status, new.requested_by);
END;
CREATE TRIGGER orders_deleted AFTER DELETE ON orders BEGIN
    INSERT INTO order_changes (instance_id, status, requested_by)
    VALUES (old.instance_id, 'deleted', old.requested_by);
END;
