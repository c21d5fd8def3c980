-- The entries already registered for the regions :regions (a list): a run skips them.
SELECT receipt_date, file_name, sha256
FROM raw_files
WHERE region IN :regions
