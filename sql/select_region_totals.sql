-- The totals of each region and millésime as of :as_of (synthese.csv, regions.csv), of the
-- region :region, or of every region when :region is NULL (the CAST gives PostgreSQL the
-- parameter's type).
SELECT *
FROM mart_regions
WHERE as_of = :as_of
  AND (CAST(:region AS TEXT) IS NULL OR code_region = :region)
ORDER BY code_region, millesime
