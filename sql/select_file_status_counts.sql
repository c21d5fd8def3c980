-- Files by region and status (fichiers.csv's Statut) as of :as_of, for `make run`.
SELECT region, statut, COUNT(*)
FROM mart_files
WHERE as_of = :as_of
GROUP BY region, statut
