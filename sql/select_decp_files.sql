-- The entries of landing/decp/ received on or before :as_of with their status as of that date
-- (decp_fichiers.csv), in the order of receipt.
SELECT f.file_name, f.sha256, f.receipt_date, f.status, m.statut, f.n_rows, f.n_excluded,
       f.reason
FROM mart_decp_files m
JOIN decp_files f ON f.file_id = m.file_id
WHERE m.as_of = :as_of
ORDER BY f.receipt_date, f.file_name COLLATE "C", f.file_id
