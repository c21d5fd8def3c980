-- The status of every file entry received on or before :as_of (contract §7, fichiers.csv):
-- 'doublon' for bytes received before (an entry that is not its content's first receipt in
-- work_contents; an entry without SHA-256 never is), 'remplacé' for a valid file holding rows
-- none of which is current any more, 'chargé' for any other valid file.
INSERT INTO mart_files (as_of, file_id, region, statut)
SELECT :as_of, e.file_id, e.region,
       CASE
           WHEN c.file_id <> e.file_id THEN 'doublon'
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
FROM raw_files e
LEFT JOIN work_contents c ON c.as_of = :as_of AND c.sha256 = e.sha256
WHERE e.receipt_date <= :as_of;
