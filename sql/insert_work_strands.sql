-- The winning row of each convention strand (N° convention, Millésime) as of :as_of: highest
-- N° avenant, then the most recent receipt (contract §4: the highest receipt_rank of
-- work_contents), then the last row of the file; with the day counts of the fraction
-- en poste (§5) and the deadline of the intermediate report (début + N months, day clamped, R05).
INSERT INTO work_strands (
    as_of, num_convention, millesime, sha256, sheet, row_number, siret_porteur, volet,
    mois_debut, mois_fin,
    days_in_post, days_total, interim_deadline
)
SELECT :as_of, w.num_convention, w.millesime, w.file_sha256, w.sheet, w.row_number,
       w.siret_porteur, w.volet,
       debut.month_key, fin.month_key,
       CASE
           WHEN w.date_recrutement IS NULL OR w.date_recrutement > w.date_fin THEN 0
           WHEN w.date_recrutement <= w.date_debut THEN fin.day_number - debut.day_number + 1
           ELSE fin.day_number - recrutement.day_number + 1
       END,
       fin.day_number - debut.day_number + 1,
       deadline.day
FROM (
    SELECT s.*,
           ROW_NUMBER() OVER (
               PARTITION BY s.num_convention, s.millesime
               ORDER BY s.num_avenant DESC, c.receipt_rank DESC, s.row_number DESC
           ) AS recency
    FROM stg_conventions s
    JOIN work_contents c
        ON c.as_of = :as_of AND c.sha256 = s.file_sha256 AND c.status = 'loaded'
) w
JOIN ref_rules r ON r.millesime = w.millesime
JOIN dim_date debut ON debut.day = w.date_debut
JOIN dim_date fin ON fin.day = w.date_fin
LEFT JOIN dim_date recrutement ON recrutement.day = w.date_recrutement
JOIN dim_date deadline_month
    ON deadline_month.month_number = debut.month_number + r.interim_report_months
   AND deadline_month.day_of_month = 1
JOIN dim_date deadline
    ON deadline.month_number = deadline_month.month_number
   AND deadline.day_of_month = CASE
           WHEN debut.day_of_month < deadline_month.days_in_month THEN debut.day_of_month
           ELSE deadline_month.days_in_month
       END
WHERE w.recency = 1;
