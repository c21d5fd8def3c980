-- Record that the staging tables were ANALYZEd holding :rows rows (one row at most).
DELETE FROM analyzed_staging;
INSERT INTO analyzed_staging (loaded_rows) VALUES (:rows);
