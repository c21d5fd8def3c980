-- The activity partitions (kind, SIRET porteur, Mois) of every loaded content not summarised
-- yet, with the Heures réalisées of each Heures partition (migration 0006): done once per
-- content, by the first computation after its load.
INSERT INTO file_partitions (kind, file_sha256, siret_porteur, mois, heures)
SELECT 'Heures', file_sha256, siret_porteur, mois, SUM(heures_realisees)
FROM stg_heures
WHERE file_sha256 IN (
    SELECT f.sha256 FROM raw_files f
    WHERE f.status = 'loaded'
      AND NOT EXISTS (
          SELECT 1 FROM file_partitions p WHERE p.file_sha256 = f.sha256 AND p.kind = 'Heures'
      )
)
GROUP BY file_sha256, siret_porteur, mois;
INSERT INTO file_partitions (kind, file_sha256, siret_porteur, mois)
SELECT DISTINCT 'Marchés', file_sha256, siret_porteur, mois
FROM stg_marches
WHERE file_sha256 IN (
    SELECT f.sha256 FROM raw_files f
    WHERE f.status = 'loaded'
      AND NOT EXISTS (
          SELECT 1 FROM file_partitions p WHERE p.file_sha256 = f.sha256 AND p.kind = 'Marchés'
      )
);
INSERT INTO file_partitions (kind, file_sha256, siret_porteur, mois)
SELECT DISTINCT 'Contacts', file_sha256, siret_porteur, mois
FROM stg_contacts
WHERE file_sha256 IN (
    SELECT f.sha256 FROM raw_files f
    WHERE f.status = 'loaded'
      AND NOT EXISTS (
          SELECT 1 FROM file_partitions p WHERE p.file_sha256 = f.sha256 AND p.kind = 'Contacts'
      )
);
INSERT INTO file_partitions (kind, file_sha256, siret_porteur, mois)
SELECT DISTINCT 'Partenariats', file_sha256, siret_porteur, mois
FROM stg_partenariats
WHERE file_sha256 IN (
    SELECT f.sha256 FROM raw_files f
    WHERE f.status = 'loaded'
      AND NOT EXISTS (
          SELECT 1 FROM file_partitions p
          WHERE p.file_sha256 = f.sha256 AND p.kind = 'Partenariats'
      )
);
