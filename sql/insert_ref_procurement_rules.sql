-- The procurement parameters of one year of notification (rules/default.toml, [procurement],
-- and the year's overrides), with the first day of the year and of the next one.
INSERT INTO ref_procurement_rules (
    annee, first_day, next_first_day, rules_version, decp_min_amount, pnad_social_share_target,
    eu_threshold_works, eu_threshold_supplies_services
)
VALUES (
    :annee, :first_day, :next_first_day, :version, :decp_min_amount, :pnad_social_share_target,
    :eu_threshold_works, :eu_threshold_supplies_services
)
