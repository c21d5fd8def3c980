-- The French words of one failed rule of one strand as of :as_of.
UPDATE mart_rule_results
SET measured_text = :measured_text,
    expected_text = :expected_text,
    explanation = :explanation
WHERE as_of = :as_of AND num_convention = :num_convention
  AND millesime = :millesime AND rule_id = :rule_id
