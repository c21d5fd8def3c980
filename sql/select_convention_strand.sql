-- One strand (N° convention :num_convention, Millésime :millesime) as of :as_of, every column.
SELECT *
FROM mart_conventions
WHERE as_of = :as_of AND num_convention = :num_convention AND millesime = :millesime
