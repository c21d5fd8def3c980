-- The contents (distinct file bytes, SHA-256 not empty) received on or before :as_of, each at
-- its first receipt: copies received again later ("doublon") count once (contract §1). Each
-- keeps its first receipt's registry entry (file_id) and status; only 'loaded' ones have rows.
-- receipt_rank is the order of receipt of the contract (§4), spelt here only: the receipt
-- date, then the file name in code-point order (COLLATE "C"; SQLite gets a code-point collation
-- named "C" from clauses.warehouse), then the region, then the SHA-256. A content's rank is
-- that of its first receipt; the later the receipt, the higher the rank. Every other file of
-- sql/ orders contents by it.
INSERT INTO work_contents (
    as_of, sha256, file_id, receipt_date, file_name, region, status, receipt_rank
)
SELECT :as_of, sha256, file_id, receipt_date, file_name, region, status, receipt_rank
FROM (
    SELECT e.*, MIN(e.receipt_rank) OVER (PARTITION BY e.sha256) AS first_rank
    FROM (
        SELECT f.file_id, f.sha256, f.receipt_date, f.file_name, f.region, f.status,
               ROW_NUMBER() OVER (
                   ORDER BY f.receipt_date, f.file_name COLLATE "C", f.region, f.sha256
               ) AS receipt_rank
        FROM raw_files f
        WHERE f.receipt_date <= :as_of AND f.sha256 <> ''
    ) e
) entries
WHERE receipt_rank = first_rank;
