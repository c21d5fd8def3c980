-- Hours of the current Heures partitions by region and month as of :as_of, for the charts of
-- the visual summary. A SIRET's region is the region of its facilitateur strands.
INSERT INTO mart_monthly_hours (as_of, code_region, mois, heures)
SELECT :as_of, r.code_region, p.mois, SUM(h.heures_realisees)
FROM work_partitions p
JOIN (
    SELECT DISTINCT siret_porteur, code_region
    FROM mart_conventions
    WHERE as_of = :as_of AND volet = 'facilitateur'
) r ON r.siret_porteur = p.siret_porteur
JOIN stg_heures h
    ON h.file_sha256 = p.sha256 AND h.siret_porteur = p.siret_porteur AND h.mois = p.mois
WHERE p.as_of = :as_of AND p.kind = 'Heures'
GROUP BY r.code_region, p.mois;
