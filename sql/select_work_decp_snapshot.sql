-- The snapshot in force as of :as_of, once work_decp_snapshot is filled (none: no row).
SELECT snapshot_id, sha256
FROM work_decp_snapshot
WHERE as_of = :as_of
