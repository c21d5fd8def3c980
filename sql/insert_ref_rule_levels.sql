-- The level (blocking or warning) of one rule of one millésime.
INSERT INTO ref_rule_levels (millesime, rule_id, level)
VALUES (:millesime, :rule_id, :level)
