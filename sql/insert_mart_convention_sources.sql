-- The source files (by SHA-256) each strand's figures rest on as of :as_of: its winning
-- convention row, its reports, and the current activity partitions of its months.
INSERT INTO mart_convention_sources (as_of, num_convention, millesime, sha256)
SELECT DISTINCT :as_of, num_convention, millesime, sha256
FROM (
    SELECT num_convention, millesime, sha256 FROM work_strands WHERE as_of = :as_of
    UNION ALL
    SELECT num_convention, millesime, sha256 FROM work_bilans WHERE as_of = :as_of
    UNION ALL
    SELECT s.num_convention, s.millesime, p.sha256
    FROM work_strands s
    JOIN work_partitions p
        ON p.as_of = s.as_of AND p.siret_porteur = s.siret_porteur
       AND p.mois BETWEEN s.mois_debut AND s.mois_fin
    WHERE s.as_of = :as_of AND s.volet = 'facilitateur'
) sources;
