-- The SHA-256 of the snapshot in force as of :as_of (its entry 'chargé'), if any.
SELECT f.sha256
FROM mart_decp_files m
JOIN decp_files f ON f.file_id = m.file_id
WHERE m.as_of = :as_of AND m.statut = 'chargé'
