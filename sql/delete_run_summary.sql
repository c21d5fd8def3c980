-- The summary row of one region in one run, before it is written again.
DELETE FROM run_summaries
WHERE run_id = :run AND region = :region
