-- A DECP content loaded: its id is the axis of the contracts' intervals (migration 0007).
INSERT INTO decp_snapshots (
    sha256, load_id, run_id, loaded_at, n_rows, n_excluded, n_contracts, min_amount,
    versions_added, versions_closed
)
VALUES (
    :sha256, :load_id, :run_id, :loaded_at, :n_rows, :n_excluded, :n_contracts, :min_amount,
    :versions_added, :versions_closed
)
RETURNING snapshot_id
