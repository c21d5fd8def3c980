-- The files received after :start and on or before :end, with their status as of :end; of the
-- region :region, or of every region when :region is NULL (the CAST gives PostgreSQL the
-- parameter's type).
SELECT f.region, f.receipt_date AS received, f.file_name AS name, m.statut
FROM raw_files f
JOIN mart_files m ON m.file_id = f.file_id AND m.as_of = :end
WHERE f.receipt_date > :start AND f.receipt_date <= :end
  AND (CAST(:region AS TEXT) IS NULL OR f.region = :region)
ORDER BY f.region, f.receipt_date, f.file_name
