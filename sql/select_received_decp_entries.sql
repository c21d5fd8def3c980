-- Every entry of landing/decp/ received on or before :as_of with what it was found to be: what
-- the procurement figures as of that date depend on (clauses.compute.figures.inputs_fingerprint),
-- in a stable order.
SELECT receipt_date, file_name, sha256, status, n_rows, n_excluded
FROM decp_files
WHERE receipt_date <= :as_of
ORDER BY receipt_date, file_name, sha256
