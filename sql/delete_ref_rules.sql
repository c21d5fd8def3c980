-- The rules' parameters and levels of every millésime, before they are written again.
DELETE FROM ref_rule_levels;
DELETE FROM ref_rules;
