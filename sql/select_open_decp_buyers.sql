-- The versions of the buyers' names of the DECP content loaded last (still open).
SELECT version_id, row_hash
FROM decp_buyers
WHERE last_snapshot IS NULL
