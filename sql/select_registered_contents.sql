-- The registry entries of the contents :shas (a list), in the order they were registered: the
-- first one of each content holds the outcome its later copies take.
SELECT sha256, status, kinds, n_rows, reason
FROM raw_files
WHERE sha256 IN :shas
ORDER BY file_id
