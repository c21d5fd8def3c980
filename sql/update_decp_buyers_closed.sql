-- Buyers' names that changed or left in the new snapshot: they hold up to the previous one.
UPDATE decp_buyers
SET last_snapshot = :previous
WHERE version_id IN :versions
