-- The millésimes of the conventions loaded so far: each gets its rules (clauses.compute.rules).
SELECT DISTINCT millesime
FROM stg_conventions
WHERE millesime IS NOT NULL
