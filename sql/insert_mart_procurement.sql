-- The procurement figures as of :as_of (contract §8.3), per region (NULL: the unattributed
-- contracts) and year of notification: the counted contracts of the snapshot in force (notified
-- on or before :as_of, amount at least the year's decp_min_amount), those with a social
-- consideration, their amounts, those a current Marchés row accompanies
-- (work_decp_accompanied), those notified from :climate_law_date on at or above the year's
-- European threshold (works or not) without a social consideration, and the count of buyers
-- without a facilitator (mart_procurement_buyers, filled first). The ratios are derived from
-- these where they are written (clauses.publish.procurement).
-- The inner query groups by day and region, the order of ix_decp_contracts_figures, which it
-- reads alone (SQLite then sorts no row); the outer one by year.
INSERT INTO mart_procurement (
    as_of, code_region, annee, rules_version, contrats, avec_consideration, montant,
    montant_avec_consideration, objectif_pnad, accompagnes, au_dessus_seuils,
    acheteurs_sans_facilitateur
)
SELECT :as_of, g.region_code, g.annee, r.rules_version, SUM(g.contrats), SUM(g.avec),
       SUM(g.montant), SUM(g.montant_avec), r.pnad_social_share_target, SUM(g.accompagnes),
       SUM(g.au_dessus),
       (SELECT COUNT(*) FROM mart_procurement_buyers b
        WHERE b.as_of = :as_of AND b.annee = g.annee
          AND COALESCE(b.code_region, '') = COALESCE(g.region_code, ''))
FROM (
    SELECT c.region_code, MIN(d.month_number) / 12 AS annee,
           COUNT(*) AS contrats,
           SUM(CASE WHEN c.social THEN 1 ELSE 0 END) AS avec,
           SUM(c.amount) AS montant,
           SUM(CASE WHEN c.social THEN c.amount ELSE 0 END) AS montant_avec,
           SUM(CASE
               WHEN c.social AND EXISTS (
                   SELECT 1 FROM work_decp_accompanied a
                   WHERE a.as_of = :as_of AND a.version_id = c.version_id
               ) THEN 1 ELSE 0
           END) AS accompagnes,
           SUM(CASE
               WHEN NOT c.social AND c.notified_on >= :climate_law_date
                    AND c.amount >= CASE
                        WHEN c.works THEN r.eu_threshold_works
                        ELSE r.eu_threshold_supplies_services
                    END
               THEN 1 ELSE 0
           END) AS au_dessus
    FROM work_decp_snapshot w
    JOIN decp_contracts c
        ON c.first_snapshot <= w.snapshot_id
       AND (c.last_snapshot IS NULL OR c.last_snapshot >= w.snapshot_id)
    JOIN dim_date d ON d.day = c.notified_on
    JOIN ref_procurement_rules r ON r.annee = d.month_number / 12
    WHERE w.as_of = :as_of AND c.notified_on <= :as_of AND c.amount >= r.decp_min_amount
    GROUP BY c.notified_on, c.region_code
) g
JOIN ref_procurement_rules r ON r.annee = g.annee
GROUP BY g.region_code, g.annee, r.rules_version, r.pnad_social_share_target;
