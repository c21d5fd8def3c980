-- The versions of the contracts of the DECP content loaded last (still open).
SELECT version_id, row_hash
FROM decp_contracts
WHERE last_snapshot IS NULL
