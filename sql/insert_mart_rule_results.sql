-- R01-R09 for every strand as of :as_of (contract §6): one row per strand and rule, with its
-- status ('passed', 'failed' or 'not_evaluated') and the measured and expected values. Levels
-- come from ref_rule_levels, so a rules file can make a rule blocking or a warning.
INSERT INTO mart_rule_results (
    as_of, num_convention, millesime, rule_id, level, status,
    measured_num, expected_num, measured_num2, expected_num2, measured_date, expected_date
)
SELECT :as_of, t.num_convention, t.millesime, t.rule_id, lv.level, t.status,
       t.measured_num, t.expected_num, t.measured_num2, t.expected_num2,
       t.measured_date, t.expected_date
FROM (
    -- R01: Subvention État <= rate × Coût total
    SELECT m.num_convention, m.millesime, 'R01' AS rule_id,
           CASE WHEN m.subvention_etat_cents * 10000 > m.rate_bp * m.cout_total_cents
                THEN 'failed' ELSE 'passed' END AS status,
           CAST(m.subvention_etat_cents / 100.0 AS DOUBLE PRECISION) AS measured_num,
           CAST(m.rate_bp * m.cout_total_cents / 1000000.0 AS DOUBLE PRECISION) AS expected_num,
           m.rate_bp / 100.0 AS measured_num2,
           CAST(NULL AS DOUBLE PRECISION) AS expected_num2,
           CAST(NULL AS DATE) AS measured_date, CAST(NULL AS DATE) AS expected_date
    FROM mart_conventions m WHERE m.as_of = :as_of
    UNION ALL
    -- R02: Subvention État + Cofinancements >= Coût total - tolerance
    SELECT m.num_convention, m.millesime, 'R02',
           CASE WHEN m.subvention_etat_cents + m.cofinancements_cents
                     < m.cout_total_cents - r.funding_gap_tolerance_cents
                THEN 'failed' ELSE 'passed' END,
           (m.subvention_etat_cents + m.cofinancements_cents) / 100.0,
           m.cout_total_cents / 100.0, r.funding_gap_tolerance_cents / 100.0, NULL, NULL, NULL
    FROM mart_conventions m JOIN ref_rules r ON r.millesime = m.millesime
    WHERE m.as_of = :as_of
    UNION ALL
    -- R03: ETP conventionnés >= minimum
    SELECT m.num_convention, m.millesime, 'R03',
           CASE WHEN m.etp_conventionnes < r.min_etp THEN 'failed' ELSE 'passed' END,
           m.etp_conventionnes, r.min_etp, NULL, NULL, NULL, NULL
    FROM mart_conventions m JOIN ref_rules r ON r.millesime = m.millesime
    WHERE m.as_of = :as_of
    UNION ALL
    -- R04: post filled (Date de recrutement present and <= Date de fin); always evaluated
    SELECT m.num_convention, m.millesime, 'R04',
           CASE WHEN m.date_recrutement IS NULL OR m.date_recrutement > m.date_fin
                THEN 'failed' ELSE 'passed' END,
           NULL, NULL, NULL, NULL, m.date_recrutement, m.date_fin
    FROM mart_conventions m WHERE m.as_of = :as_of
    UNION ALL
    -- R05: intermediate report received by the deadline; evaluated once :as_of is past it
    SELECT m.num_convention, m.millesime, 'R05',
           CASE WHEN :as_of <= s.interim_deadline THEN 'not_evaluated'
                WHEN b.first_receipt_date IS NULL OR b.first_receipt_date > s.interim_deadline
                THEN 'failed' ELSE 'passed' END,
           NULL, NULL, NULL, NULL, b.first_receipt_date, s.interim_deadline
    FROM mart_conventions m
    JOIN work_strands s
        ON s.as_of = m.as_of AND s.num_convention = m.num_convention
       AND s.millesime = m.millesime
    LEFT JOIN work_bilans b
        ON b.as_of = m.as_of AND b.num_convention = m.num_convention
       AND b.millesime = m.millesime AND b.type_bilan = 'intermédiaire'
    WHERE m.as_of = :as_of
    UNION ALL
    -- R06: annual report received on or before :as_of; evaluated once :as_of is past the end
    SELECT m.num_convention, m.millesime, 'R06',
           CASE WHEN :as_of <= m.date_fin THEN 'not_evaluated'
                WHEN b.first_receipt_date IS NULL THEN 'failed' ELSE 'passed' END,
           NULL, NULL, NULL, NULL, b.first_receipt_date, m.date_fin
    FROM mart_conventions m
    LEFT JOIN work_bilans b
        ON b.as_of = m.as_of AND b.num_convention = m.num_convention
       AND b.millesime = m.millesime AND b.type_bilan = 'annuel'
    WHERE m.as_of = :as_of
    UNION ALL
    -- R07: the annual report agrees with the detail (hours and beneficiaries within tolerance)
    SELECT m.num_convention, m.millesime, 'R07',
           CASE WHEN m.volet <> 'facilitateur' OR b.num_convention IS NULL THEN 'not_evaluated'
                WHEN ABS(b.heures_insertion - m.heures)
                         > r.annual_report_tolerance * m.heures + 1e-9
                  OR ABS(b.beneficiaires - m.beneficiaires)
                         > r.annual_report_tolerance * m.beneficiaires + 1e-9
                THEN 'failed' ELSE 'passed' END,
           b.heures_insertion, m.heures, b.beneficiaires, m.beneficiaires, NULL, NULL
    FROM mart_conventions m
    JOIN ref_rules r ON r.millesime = m.millesime
    LEFT JOIN work_bilans b
        ON b.as_of = m.as_of AND b.num_convention = m.num_convention
       AND b.millesime = m.millesime AND b.type_bilan = 'annuel'
    WHERE m.as_of = :as_of
    UNION ALL
    -- R08: global attainment >= threshold (undefined attainment: not evaluated)
    SELECT m.num_convention, m.millesime, 'R08',
           CASE WHEN m.volet <> 'facilitateur' OR m.atteinte_globale IS NULL THEN 'not_evaluated'
                WHEN m.atteinte_globale < r.attainment_threshold - 1e-9 THEN 'failed'
                ELSE 'passed' END,
           m.atteinte_globale, r.attainment_threshold, NULL, NULL, NULL, NULL
    FROM mart_conventions m JOIN ref_rules r ON r.millesime = m.millesime
    WHERE m.as_of = :as_of
    UNION ALL
    -- R09: pre-existing funding not lower than the previous millésime's (same SIRET and volet)
    SELECT m.num_convention, m.millesime, 'R09',
           CASE WHEN m.financements_preexistants_cents IS NULL
                  OR p.financements_preexistants_cents IS NULL THEN 'not_evaluated'
                WHEN m.financements_preexistants_cents < p.financements_preexistants_cents
                THEN 'failed' ELSE 'passed' END,
           m.financements_preexistants_cents / 100.0, p.financements_preexistants_cents / 100.0,
           NULL, NULL, NULL, NULL
    FROM mart_conventions m
    LEFT JOIN (
        SELECT siret_porteur, volet, millesime,
               MAX(financements_preexistants_cents) AS financements_preexistants_cents
        FROM mart_conventions WHERE as_of = :as_of
        GROUP BY siret_porteur, volet, millesime
    ) p ON p.siret_porteur = m.siret_porteur AND p.volet = m.volet
       AND p.millesime = m.millesime - 1
    WHERE m.as_of = :as_of
) t
JOIN ref_rule_levels lv ON lv.millesime = t.millesime AND lv.rule_id = t.rule_id;
