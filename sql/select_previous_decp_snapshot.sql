-- The DECP content loaded last before :snapshot: its contracts are the open versions.
SELECT MAX(snapshot_id)
FROM decp_snapshots
WHERE snapshot_id < :snapshot
