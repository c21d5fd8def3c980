-- Strands by region and decision as of a date (the run summaries, the status page, `make run`).
SELECT code_region, decision, COUNT(*) AS n
FROM mart_conventions
WHERE as_of = :as_of
GROUP BY code_region, decision
