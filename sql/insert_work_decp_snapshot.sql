-- The snapshot in force as of :as_of (contract §8.1): the content of the entry 'chargé' in
-- mart_decp_files. None when no snapshot was loaded from an entry received on or before it.
INSERT INTO work_decp_snapshot (as_of, snapshot_id, sha256)
SELECT :as_of, s.snapshot_id, s.sha256
FROM mart_decp_files m
JOIN decp_files f ON f.file_id = m.file_id
JOIN decp_snapshots s ON s.sha256 = f.sha256
WHERE m.as_of = :as_of AND m.statut = 'chargé';
