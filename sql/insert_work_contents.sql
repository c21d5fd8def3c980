-- The contents (distinct file bytes) received on or before :as_of and loaded, each at its
-- first receipt: copies received again later ("doublon") count once (contract §1).
-- Ties on the receipt date go to the file name in code-point order (COLLATE "C"; SQLite gets a
-- code-point collation named "C" from clauses.warehouse).
INSERT INTO work_contents (as_of, sha256, receipt_date, file_name, region)
SELECT :as_of, sha256, receipt_date, file_name, region
FROM (
    SELECT f.sha256, f.receipt_date, f.file_name, f.region, f.status,
           ROW_NUMBER() OVER (
               PARTITION BY f.sha256
               ORDER BY f.receipt_date, f.file_name COLLATE "C", f.region
           ) AS copy_rank
    FROM raw_files f
    WHERE f.receipt_date <= :as_of AND f.sha256 <> ''
) entries
WHERE copy_rank = 1 AND status = 'loaded';
