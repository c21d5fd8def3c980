-- The parameters of the rules of one millésime (rules/default.toml and its overrides).
INSERT INTO ref_rules (
    millesime, rules_version, rate_default_bp, rate_local_authority_bp, min_etp,
    funding_gap_tolerance_cents, interim_report_months, annual_report_tolerance,
    attainment_threshold
)
VALUES (
    :millesime, :version, :rate_default_bp, :rate_local_authority_bp, :min_etp,
    :funding_gap_tolerance_cents, :interim_report_months, :annual_report_tolerance,
    :attainment_threshold
)
