-- The activity partitions (kind, SIRET porteur, Mois) of every loaded content not summarised
-- yet, with the Heures réalisées of each Heures partition (migration 0006): every kind of a
-- content at once, by the first computation after its load. A content without activity rows
-- (a register, reports) has none and is looked up again, by index, at each computation.
WITH pending AS (
    SELECT f.sha256 FROM raw_files f
    WHERE f.status = 'loaded'
      AND NOT EXISTS (SELECT 1 FROM file_partitions p WHERE p.file_sha256 = f.sha256)
)
INSERT INTO file_partitions (kind, file_sha256, siret_porteur, mois, heures)
SELECT 'Heures', file_sha256, siret_porteur, mois, SUM(heures_realisees) FROM stg_heures
WHERE file_sha256 IN (SELECT sha256 FROM pending) GROUP BY file_sha256, siret_porteur, mois
UNION ALL
SELECT DISTINCT 'Marchés', file_sha256, siret_porteur, mois, CAST(NULL AS DOUBLE PRECISION)
FROM stg_marches
WHERE file_sha256 IN (SELECT sha256 FROM pending)
UNION ALL
SELECT DISTINCT 'Contacts', file_sha256, siret_porteur, mois, CAST(NULL AS DOUBLE PRECISION)
FROM stg_contacts
WHERE file_sha256 IN (SELECT sha256 FROM pending)
UNION ALL
SELECT DISTINCT 'Partenariats', file_sha256, siret_porteur, mois, CAST(NULL AS DOUBLE PRECISION)
FROM stg_partenariats
WHERE file_sha256 IN (SELECT sha256 FROM pending);
