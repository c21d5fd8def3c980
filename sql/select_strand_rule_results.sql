-- The rules R01-R09 of one strand as of :as_of, in id order.
SELECT *
FROM mart_rule_results
WHERE as_of = :as_of AND num_convention = :num_convention AND millesime = :millesime
ORDER BY rule_id
