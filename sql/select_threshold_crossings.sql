-- Strands of :basis whose Date de fin or R05 deadline lies in [:basis, :as_of): the only dates
-- the rules compare with the date itself (update_mart_conventions_decision.sql,
-- insert_mart_rule_results.sql). None: the figures of :basis are those of :as_of.
SELECT (
    SELECT COUNT(*) FROM mart_conventions
    WHERE as_of = :basis AND date_fin >= :basis AND date_fin < :as_of
) + (
    SELECT COUNT(*) FROM mart_rule_results
    WHERE as_of = :basis AND rule_id = 'R05' AND expected_date >= :basis
      AND expected_date < :as_of
)
