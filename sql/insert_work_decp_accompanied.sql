-- The contract versions of the snapshot in force :snapshot_id that a Marchés row current as of
-- :as_of, of any region, names (contract §8.3): its SIRET donneur d'ordre is the buyer and its
-- N° marché has the contract's key. From the Marchés side (tens of thousands of rows) through
-- the index (buyer_siret, contract_key) of the contracts: the other contracts are not read
-- (the unary + keeps both planners from reading every contract through
-- ix_decp_contracts_first instead).
INSERT INTO work_decp_accompanied (as_of, version_id)
SELECT DISTINCT :as_of, c.version_id
FROM work_partitions p
JOIN stg_marches x
    ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
JOIN work_contract_keys k ON k.as_of = p.as_of AND k.num_marche = x.num_marche
JOIN decp_contracts c
    ON c.buyer_siret = x.siret_donneur_ordre AND c.contract_key = k.contract_key
   AND +c.first_snapshot <= :snapshot_id
   AND (c.last_snapshot IS NULL OR c.last_snapshot >= :snapshot_id)
WHERE p.as_of = :as_of AND p.kind = 'Marchés';
