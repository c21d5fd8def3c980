-- The strands as of :as_of, every column (conventions.csv, the summary page), of the region
-- :region, or of every region when :region is NULL (the CAST gives PostgreSQL the parameter's
-- type).
SELECT *
FROM mart_conventions
WHERE as_of = :as_of
  AND (CAST(:region AS TEXT) IS NULL OR code_region = :region)
ORDER BY code_region, num_convention, millesime
