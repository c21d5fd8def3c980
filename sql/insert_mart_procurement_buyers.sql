-- The buyers without a facilitator as of :as_of (contract §8.3-8.4), per region (NULL: the
-- unattributed contracts) and year of notification: the buyers of a counted contract of the
-- snapshot in force :snapshot_id with a social consideration (notified on or before :as_of,
-- amount at least the year's decp_min_amount) that no current Marchés or Contacts row names
-- (work_reached_buyers); with
-- the count and amount of those contracts. The name is that of the buyer's first valid initial
-- row in the snapshot (decp_buyers, as the loader found it in file order, §8.4).
-- Each year's days up to :as_of are one range of ix_decp_contracts_figures, as in
-- insert_mart_procurement.sql (the table is read only for the names of the rows that pass).
INSERT INTO mart_procurement_buyers (
    as_of, code_region, annee, buyer_siret, buyer_name, contrats, montant
)
SELECT :as_of, c.region_code, r.annee, c.buyer_siret, MAX(n.buyer_name),
       COUNT(*), SUM(c.amount)
FROM (
    SELECT ref_procurement_rules.*,
           CASE WHEN next_first_day <= :as_of THEN next_first_day ELSE :day_after END AS end_day
    FROM ref_procurement_rules
    WHERE first_day <= :as_of
) r
JOIN decp_contracts c
    ON c.notified_on >= r.first_day AND c.notified_on < r.end_day
   AND +c.first_snapshot <= :snapshot_id
   AND (c.last_snapshot IS NULL OR c.last_snapshot >= :snapshot_id)
LEFT JOIN decp_buyers n
    ON n.buyer_siret = c.buyer_siret AND n.first_snapshot <= :snapshot_id
   AND (n.last_snapshot IS NULL OR n.last_snapshot >= :snapshot_id)
WHERE c.social
  AND c.amount >= r.decp_min_amount
  AND NOT EXISTS (
      SELECT 1 FROM work_reached_buyers b WHERE b.as_of = :as_of AND b.siret = c.buyer_siret
  )
GROUP BY c.region_code, r.annee, c.buyer_siret;
