-- Rows loaded into the staging tables so far (each loaded file's n_rows).
SELECT COALESCE(SUM(n_rows), 0)
FROM raw_files
WHERE status = 'loaded'
