-- Every file entry received on or before :as_of with its status: what the figures as of that
-- date depend on (clauses.compute.figures.inputs_fingerprint), in a stable order.
SELECT region, receipt_date, file_name, sha256, status, kinds
FROM raw_files
WHERE receipt_date <= :as_of
ORDER BY region, receipt_date, file_name, sha256
