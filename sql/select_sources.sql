-- The source files (SHA-256) of the strands as of :as_of (manifest.json), of the region
-- :region, or of the nation when :region is NULL (the CAST gives PostgreSQL the parameter's
-- type). The nation's include the reports of a convention with no strand: LEFT JOIN.
SELECT DISTINCT s.sha256
FROM mart_convention_sources s
LEFT JOIN mart_conventions m
    ON m.as_of = s.as_of AND m.num_convention = s.num_convention AND m.millesime = s.millesime
WHERE s.as_of = :as_of
  AND (CAST(:region AS TEXT) IS NULL OR m.code_region = :region)
ORDER BY s.sha256
