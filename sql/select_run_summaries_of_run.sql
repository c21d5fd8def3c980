-- The summary rows of the run :run, one per region.
SELECT *
FROM run_summaries
WHERE run_id = :run
ORDER BY region
