-- The counted contracts with a social consideration of the region :region notified from
-- :first_day to :last_day (one year, up to the date :as_of) in the snapshot :snapshot_id
-- (amount at least :min_amount), each with every Marchés row current as of :as_of that
-- matches it (contract §8.3), or NULLs when none does, for `clauses explain`. The work tables
-- of :as_of must be filled (clauses.compute.figures.prepare_procurement_matches). A row's file
-- is its content's first receipt.
SELECT c.uid, c.contract_key, c.buyer_siret, n.buyer_name, c.notified_on, c.amount,
       f.file_name, f.region, f.received, m.sheet, m.row_number, m.num_marche
FROM decp_contracts c
LEFT JOIN decp_buyers n
    ON n.buyer_siret = c.buyer_siret AND n.first_snapshot <= :snapshot_id
   AND (n.last_snapshot IS NULL OR n.last_snapshot >= :snapshot_id)
LEFT JOIN (
    SELECT x.siret_donneur_ordre, k.contract_key, x.file_sha256, x.sheet, x.row_number,
           x.num_marche
    FROM work_partitions p
    JOIN stg_marches x
        ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
    JOIN work_contract_keys k ON k.as_of = p.as_of AND k.num_marche = x.num_marche
    WHERE p.as_of = :as_of AND p.kind = 'Marchés'
) m ON m.siret_donneur_ordre = c.buyer_siret AND m.contract_key = c.contract_key
LEFT JOIN (
    SELECT e.sha256, e.file_name, e.region, e.receipt_date AS received
    FROM work_contents e
    WHERE e.as_of = :as_of
) f ON f.sha256 = m.file_sha256
WHERE c.first_snapshot <= :snapshot_id
  AND (c.last_snapshot IS NULL OR c.last_snapshot >= :snapshot_id)
  AND c.region_code = :region AND c.notified_on >= :first_day AND c.notified_on <= :last_day
  AND c.social AND c.amount >= :min_amount
ORDER BY c.notified_on, c.uid, f.received, f.file_name, m.row_number
