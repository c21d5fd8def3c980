-- Complete the summary row of one region in the run :run with the region's strands per decision
-- (Decision.count_column) and the run's compute and publication times.
UPDATE run_summaries
SET n_en_cours = :n_en_cours,
    n_liberable = :n_liberable,
    n_a_examiner = :n_a_examiner,
    n_suspendu = :n_suspendu,
    n_reversement = :n_reversement,
    compute_seconds = :compute,
    publish_seconds = :publish
WHERE run_id = :run AND region = :region
