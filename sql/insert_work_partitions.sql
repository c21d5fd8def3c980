-- For each activity partition (kind, SIRET porteur, Mois), the content that is the truth as of
-- :as_of: the most recently received one holding it (contract §4), the highest receipt_rank of
-- the loaded contents of work_contents.
INSERT INTO work_partitions (as_of, kind, siret_porteur, mois, sha256)
SELECT :as_of, kind, siret_porteur, mois, sha256
FROM (
    SELECT p.kind, p.siret_porteur, p.mois, p.sha256,
           ROW_NUMBER() OVER (
               PARTITION BY p.kind, p.siret_porteur, p.mois
               ORDER BY c.receipt_rank DESC
           ) AS recency
    FROM (
        SELECT DISTINCT 'Heures' AS kind, siret_porteur, mois, file_sha256 AS sha256 FROM stg_heures
        UNION ALL
        SELECT DISTINCT 'Marchés', siret_porteur, mois, file_sha256 FROM stg_marches
        UNION ALL
        SELECT DISTINCT 'Contacts', siret_porteur, mois, file_sha256 FROM stg_contacts
        UNION ALL
        SELECT DISTINCT 'Partenariats', siret_porteur, mois, file_sha256 FROM stg_partenariats
    ) p
    JOIN work_contents c
        ON c.as_of = :as_of AND c.sha256 = p.sha256 AND c.status = 'loaded'
) ranked
WHERE recency = 1;
