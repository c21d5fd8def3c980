-- For each activity partition (kind, SIRET porteur, Mois), the content that is the truth as of
-- :as_of: the most recently received one holding it (contract §4), the highest receipt_rank of
-- the loaded contents of work_contents. The partitions of each content: file_partitions.
INSERT INTO work_partitions (as_of, kind, siret_porteur, mois, sha256)
SELECT :as_of, kind, siret_porteur, mois, sha256
FROM (
    SELECT p.kind, p.siret_porteur, p.mois, p.sha256,
           ROW_NUMBER() OVER (
               PARTITION BY p.kind, p.siret_porteur, p.mois
               ORDER BY c.receipt_rank DESC
           ) AS recency
    FROM (
        SELECT kind, siret_porteur, mois, file_sha256 AS sha256 FROM file_partitions
    ) p
    JOIN work_contents c
        ON c.as_of = :as_of AND c.sha256 = p.sha256 AND c.status = 'loaded'
) ranked
WHERE recency = 1;
