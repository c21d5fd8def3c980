-- The first registered outcome of the DECP content :sha: a copy received again takes it.
SELECT status, n_rows, n_excluded, reason, report_path
FROM decp_files
WHERE sha256 = :sha
ORDER BY file_id
