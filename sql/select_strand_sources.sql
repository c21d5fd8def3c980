-- The source files of one strand as of :as_of: each content with its first receipt date and the
-- first of its file names, by date then name.
SELECT s.sha256, MIN(f.receipt_date) AS received, MIN(f.file_name) AS name
FROM mart_convention_sources s
JOIN raw_files f ON f.sha256 = s.sha256
WHERE s.as_of = :as_of AND s.num_convention = :num_convention AND s.millesime = :millesime
  AND f.receipt_date <= :as_of
GROUP BY s.sha256
ORDER BY 2, 3
