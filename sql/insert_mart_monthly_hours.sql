-- Hours of the current Heures partitions by region and month as of :as_of, for the charts of
-- the visual summary (each partition's hours summed once, in file_partitions). A SIRET's
-- region is the region of its facilitateur strands.
INSERT INTO mart_monthly_hours (as_of, code_region, mois, heures)
SELECT :as_of, r.code_region, p.mois, SUM(h.heures)
FROM work_partitions p
JOIN (
    SELECT DISTINCT siret_porteur, code_region
    FROM mart_conventions
    WHERE as_of = :as_of AND volet = 'facilitateur'
) r ON r.siret_porteur = p.siret_porteur
JOIN file_partitions h
    ON h.kind = 'Heures' AND h.file_sha256 = p.sha256 AND h.siret_porteur = p.siret_porteur
   AND h.mois = p.mois
WHERE p.as_of = :as_of AND p.kind = 'Heures'
GROUP BY r.code_region, p.mois;
