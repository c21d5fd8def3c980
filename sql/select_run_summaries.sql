-- Every run's summary rows, in the order they were finished (the status page).
SELECT region, run_id, as_of, files_received, files_loaded, files_quarantined, files_refused,
       rows_loaded, seconds, error, finished_at,
       n_en_cours, n_liberable, n_a_examiner, n_suspendu, n_reversement,
       compute_seconds, publish_seconds
FROM run_summaries
ORDER BY finished_at
