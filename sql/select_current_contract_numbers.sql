-- The N° marché of the Marchés rows current as of :as_of (contract §4: the rows of the content
-- winning each partition, work_partitions), of every region: clauses.compute.procurement
-- reduces each to its key (§8.3) into work_contract_keys.
SELECT DISTINCT x.num_marche
FROM work_partitions p
JOIN stg_marches x
    ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
WHERE p.as_of = :as_of AND p.kind = 'Marchés' AND x.num_marche IS NOT NULL
