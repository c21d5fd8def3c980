-- The buyers a facilitator reaches as of :as_of (contract §8.3): every SIRET donneur d'ordre of
-- a current Marchés row and every SIRET acheteur of a current Contacts row, of any region or
-- month.
INSERT INTO work_reached_buyers (as_of, siret)
SELECT :as_of, siret
FROM (
    SELECT x.siret_donneur_ordre AS siret
    FROM work_partitions p
    JOIN stg_marches x
        ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
    WHERE p.as_of = :as_of AND p.kind = 'Marchés'
    UNION
    SELECT x.siret_acheteur
    FROM work_partitions p
    JOIN stg_contacts x
        ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
    WHERE p.as_of = :as_of AND p.kind = 'Contacts'
) reached
WHERE siret IS NOT NULL;
