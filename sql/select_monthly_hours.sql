-- Hours of insertion per month as of :as_of (the summary page's chart), of the region :region,
-- or of every region when :region is NULL (the CAST gives PostgreSQL the parameter's type).
SELECT mois, SUM(heures)
FROM mart_monthly_hours
WHERE as_of = :as_of
  AND (CAST(:region AS TEXT) IS NULL OR code_region = :region)
GROUP BY mois
ORDER BY mois
