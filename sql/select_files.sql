-- The file entries received on or before :as_of with their status as of that date
-- (fichiers.csv, the summary page), of the region :region, or of every region when :region is
-- NULL (the CAST gives PostgreSQL the parameter's type).
SELECT f.file_name, f.sha256, f.receipt_date, f.kinds, m.statut, f.n_rows, f.reason
FROM mart_files m
JOIN raw_files f ON f.file_id = m.file_id
WHERE m.as_of = :as_of
  AND (CAST(:region AS TEXT) IS NULL OR m.region = :region)
ORDER BY m.region, f.receipt_date, f.file_name, f.file_id
