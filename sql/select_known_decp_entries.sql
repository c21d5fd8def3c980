-- The DECP entries already registered (contract §8.1): a run skips them.
SELECT receipt_date, file_name, sha256
FROM decp_files
