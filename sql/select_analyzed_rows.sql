-- Rows the staging tables held at their last ANALYZE (migration 0004); no row: never.
SELECT loaded_rows FROM analyzed_staging
