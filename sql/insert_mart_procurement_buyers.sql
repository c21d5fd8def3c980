-- The buyers without a facilitator as of :as_of (contract §8.3-8.4), per region (NULL: the
-- unattributed contracts) and year of notification: the buyers of a counted contract with a
-- social consideration (notified on or before :as_of, amount at least the year's
-- decp_min_amount) that no current Marchés or Contacts row names (work_reached_buyers); with
-- the count and amount of those contracts. The year is that of dim_date (portable SQL has no
-- common way to take the year of a date). The name is the smallest non-empty one of those
-- contracts (the store keeps no file order to take the first).
INSERT INTO mart_procurement_buyers (
    as_of, code_region, annee, buyer_siret, buyer_name, contrats, montant
)
SELECT :as_of, c.region_code, d.month_number / 12, c.buyer_siret,
       MIN(NULLIF(c.buyer_name, '')), COUNT(*), SUM(c.amount)
FROM work_decp_snapshot w
JOIN decp_contracts c
    ON c.first_snapshot <= w.snapshot_id
   AND (c.last_snapshot IS NULL OR c.last_snapshot >= w.snapshot_id)
JOIN dim_date d ON d.day = c.notified_on
JOIN ref_procurement_rules r ON r.annee = d.month_number / 12
WHERE w.as_of = :as_of AND c.notified_on <= :as_of AND c.social
  AND c.amount >= r.decp_min_amount
  AND NOT EXISTS (
      SELECT 1 FROM work_reached_buyers b WHERE b.as_of = :as_of AND b.siret = c.buyer_siret
  )
GROUP BY c.region_code, d.month_number / 12, c.buyer_siret;
