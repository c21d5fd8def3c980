-- The failed rules as of :as_of with their measured and expected values, to be explained in
-- French (clauses.compute.explanations).
SELECT num_convention, millesime, rule_id, measured_num, expected_num,
       measured_num2, expected_num2, measured_date, expected_date
FROM mart_rule_results
WHERE as_of = :as_of AND status = 'failed'
