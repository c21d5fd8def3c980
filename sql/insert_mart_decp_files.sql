-- The status as of :as_of of every entry of landing/decp/ received on or before it (contract
-- §8.1, §8.4 decp_fichiers.csv). The order of receipt is that of §4: receipt date, then file
-- name in code-point order (COLLATE "C", as insert_work_contents.sql), then SHA-256. An entry
-- whose bytes were received before is a 'doublon' and never counts (§1); among the first
-- receipts of loaded contents, the latest is 'chargé' (the snapshot in force) and the others
-- 'remplacé'; an entry without SHA-256 (refused unread) is never a copy.
INSERT INTO mart_decp_files (as_of, file_id, statut)
SELECT :as_of, file_id,
       CASE
           WHEN sha256 <> '' AND receipt_rank > first_rank THEN 'doublon'
           WHEN status = 'quarantined' THEN 'en quarantaine'
           WHEN status = 'refused' THEN 'refusé'
           WHEN receipt_rank = MAX(CASE WHEN status = 'loaded' AND sha256 <> '' THEN first_rank END)
                               OVER () THEN 'chargé'
           ELSE 'remplacé'
       END
FROM (
    SELECT e.*, MIN(e.receipt_rank) OVER (PARTITION BY e.sha256) AS first_rank
    FROM (
        SELECT f.file_id, f.sha256, f.status,
               ROW_NUMBER() OVER (
                   ORDER BY f.receipt_date, f.file_name COLLATE "C", f.sha256
               ) AS receipt_rank
        FROM decp_files f
        WHERE f.receipt_date <= :as_of
    ) e
) entries;
