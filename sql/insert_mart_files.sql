-- The status of every file entry received on or before :as_of (contract §7, fichiers.csv):
-- 'doublon' for bytes received before, 'remplacé' for a valid file holding rows none of which is
-- current any more, 'chargé' for any other valid file.
INSERT INTO mart_files (as_of, file_id, region, statut)
SELECT :as_of, e.file_id, e.region,
       CASE
           WHEN e.copy_rank > 1 THEN 'doublon'
           WHEN e.status = 'quarantined' THEN 'en quarantaine'
           WHEN e.status = 'refused' THEN 'refusé'
           WHEN COALESCE(e.n_rows, 0) > 0
                AND NOT EXISTS (SELECT 1 FROM work_partitions p
                                WHERE p.as_of = :as_of AND p.sha256 = e.sha256)
                AND NOT EXISTS (SELECT 1 FROM work_strands s
                                WHERE s.as_of = :as_of AND s.sha256 = e.sha256)
                AND NOT EXISTS (SELECT 1 FROM work_bilans b
                                WHERE b.as_of = :as_of AND b.sha256 = e.sha256)
           THEN 'remplacé'
           ELSE 'chargé'
       END
FROM (
    SELECT f.*,
           CASE WHEN f.sha256 = '' THEN 1 ELSE ROW_NUMBER() OVER (
               PARTITION BY f.sha256
               ORDER BY f.receipt_date, f.file_name COLLATE "C", f.region
           ) END AS copy_rank
    FROM raw_files f
    WHERE f.receipt_date <= :as_of
) e;
