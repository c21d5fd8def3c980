-- The procurement parameters of one year of notification (rules/default.toml, [procurement],
-- and the year's overrides).
INSERT INTO ref_procurement_rules (
    annee, rules_version, decp_min_amount, pnad_social_share_target, eu_threshold_works,
    eu_threshold_supplies_services
)
VALUES (
    :annee, :version, :decp_min_amount, :pnad_social_share_target, :eu_threshold_works,
    :eu_threshold_supplies_services
)
