-- The failed rules of the strands of the region :region as of :as_of (anomalies.csv).
SELECT r.num_convention, r.millesime, m.volet, r.rule_id, r.level, r.measured_text,
       r.expected_text, r.explanation
FROM mart_rule_results r
JOIN mart_conventions m
    ON m.as_of = r.as_of AND m.num_convention = r.num_convention AND m.millesime = r.millesime
WHERE r.as_of = :as_of AND m.code_region = :region AND r.status = 'failed'
ORDER BY r.num_convention, r.millesime, r.rule_id
