-- The winning report of each (N° convention, Millésime, Type de bilan) as of :as_of (the most
-- recently received row, contract §4: the highest receipt_rank of work_contents), with the first
-- date any such report was received (R05).
INSERT INTO work_bilans (
    as_of, num_convention, millesime, type_bilan, sha256, sheet, row_number, first_receipt_date,
    heures_insertion, beneficiaires
)
SELECT :as_of, num_convention, millesime, type_bilan, file_sha256, sheet, row_number,
       first_receipt_date, heures_insertion, beneficiaires
FROM (
    SELECT b.*,
           MIN(c.receipt_date) OVER (
               PARTITION BY b.num_convention, b.millesime, b.type_bilan
           ) AS first_receipt_date,
           ROW_NUMBER() OVER (
               PARTITION BY b.num_convention, b.millesime, b.type_bilan
               ORDER BY c.receipt_rank DESC, b.row_number DESC
           ) AS recency
    FROM stg_bilans b
    JOIN work_contents c
        ON c.as_of = :as_of AND c.sha256 = b.file_sha256 AND c.status = 'loaded'
) ranked
WHERE recency = 1;
