-- Realised indicators of each facilitateur strand as of :as_of (contract §5): the current rows of
-- its SIRET whose Mois lies between the months of début and fin. Coordinateur strands get none.
INSERT INTO work_activity (
    as_of, num_convention, millesime, heures, beneficiaires, structures_inclusives,
    contacts_acheteurs, marches_accompagnes, partenariats
)
SELECT :as_of, s.num_convention, s.millesime,
       COALESCE(h.heures, 0), COALESCE(h.beneficiaires, 0), COALESCE(h.structures_inclusives, 0),
       COALESCE(ct.n, 0), COALESCE(m.n, 0), COALESCE(pt.n, 0)
FROM work_strands s
LEFT JOIN (
    SELECT s2.num_convention, s2.millesime,
           SUM(x.heures_realisees) AS heures,
           COUNT(DISTINCT x.participant_hash) AS beneficiaires,
           COUNT(DISTINCT CASE
               WHEN x.type_employeur IN ('EI', 'ETTI', 'AI', 'ACI', 'EA', 'ESAT', 'GEIQ')
               THEN x.siret_employeur
           END) AS structures_inclusives
    FROM work_strands s2
    JOIN work_partitions p
        ON p.as_of = s2.as_of AND p.kind = 'Heures' AND p.siret_porteur = s2.siret_porteur
       AND p.mois BETWEEN s2.mois_debut AND s2.mois_fin
    JOIN stg_heures x
        ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
    WHERE s2.as_of = :as_of
    GROUP BY s2.num_convention, s2.millesime
) h ON h.num_convention = s.num_convention AND h.millesime = s.millesime
LEFT JOIN (
    SELECT s2.num_convention, s2.millesime, COUNT(*) AS n
    FROM work_strands s2
    JOIN work_partitions p
        ON p.as_of = s2.as_of AND p.kind = 'Contacts' AND p.siret_porteur = s2.siret_porteur
       AND p.mois BETWEEN s2.mois_debut AND s2.mois_fin
    JOIN stg_contacts x
        ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
    WHERE s2.as_of = :as_of
    GROUP BY s2.num_convention, s2.millesime
) ct ON ct.num_convention = s.num_convention AND ct.millesime = s.millesime
LEFT JOIN (
    SELECT num_convention, millesime, COUNT(*) AS n
    FROM (
        SELECT DISTINCT s2.num_convention, s2.millesime, x.siret_donneur_ordre, x.num_marche,
               COALESCE(x.num_lot, '') AS num_lot
        FROM work_strands s2
        JOIN work_partitions p
            ON p.as_of = s2.as_of AND p.kind = 'Marchés' AND p.siret_porteur = s2.siret_porteur
           AND p.mois BETWEEN s2.mois_debut AND s2.mois_fin
        JOIN stg_marches x
            ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
        WHERE s2.as_of = :as_of
    ) markets
    GROUP BY num_convention, millesime
) m ON m.num_convention = s.num_convention AND m.millesime = s.millesime
LEFT JOIN (
    SELECT s2.num_convention, s2.millesime, COUNT(*) AS n
    FROM work_strands s2
    JOIN work_partitions p
        ON p.as_of = s2.as_of AND p.kind = 'Partenariats' AND p.siret_porteur = s2.siret_porteur
       AND p.mois BETWEEN s2.mois_debut AND s2.mois_fin
    JOIN stg_partenariats x
        ON x.file_sha256 = p.sha256 AND x.siret_porteur = p.siret_porteur AND x.mois = p.mois
    WHERE s2.as_of = :as_of
    GROUP BY s2.num_convention, s2.millesime
) pt ON pt.num_convention = s.num_convention AND pt.millesime = s.millesime
WHERE s.as_of = :as_of AND s.volet = 'facilitateur';
