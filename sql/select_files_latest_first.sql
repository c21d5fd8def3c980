-- Every registry entry, region by region, the latest received first (the status page).
SELECT region, receipt_date, file_name, status, reason
FROM raw_files
ORDER BY region, receipt_date DESC, file_name DESC
