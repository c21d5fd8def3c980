-- The procurement figures as of :as_of (contract §8.3), per region (NULL: the unattributed
-- contracts) and year of notification: the counted contracts of the snapshot in force
-- :snapshot_id (notified on or before :as_of, amount at least the year's decp_min_amount),
-- those with a social consideration, their amounts, those a current Marchés row accompanies
-- (work_decp_accompanied), those notified from :climate_law_date on at or above the year's
-- European threshold (works or not) without a social consideration, and the count of buyers
-- without a facilitator (mart_procurement_buyers, filled first). The ratios are derived from
-- these where they are written (clauses.publish.procurement).
-- Each year's days up to :as_of (end_day: the next year's first day, or :day_after for the
-- year of :as_of) are one range of ix_decp_contracts_figures, read in its order (year, day,
-- region: SQLite sorts no row), the index alone; the outer query groups by region and year.
-- One bound per side: given `notified_on <= :as_of` too, SQLite may take it as the range's end
-- and read every later contract for each year (20 times longer). The unary + keeps SQLite from
-- reading every contract through ix_decp_contracts_first, one table lookup each, instead.
INSERT INTO mart_procurement (
    as_of, code_region, annee, rules_version, contrats, avec_consideration, montant,
    montant_avec_consideration, objectif_pnad, accompagnes, au_dessus_seuils,
    acheteurs_sans_facilitateur
)
SELECT :as_of, g.region_code, g.annee, r.rules_version, SUM(g.contrats), SUM(g.avec),
       SUM(g.montant), SUM(g.montant_avec), r.pnad_social_share_target, SUM(g.accompagnes),
       SUM(g.au_dessus), COALESCE(MAX(b.n), 0)
FROM (
    SELECT r.annee, c.region_code,
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
    FROM (
        SELECT ref_procurement_rules.*,
               CASE WHEN next_first_day <= :as_of THEN next_first_day ELSE :day_after END AS end_day
        FROM ref_procurement_rules
        WHERE first_day <= :as_of
    ) r
    JOIN decp_contracts c
        ON c.notified_on >= r.first_day AND c.notified_on < r.end_day
       AND +c.first_snapshot <= :snapshot_id
       AND (c.last_snapshot IS NULL OR c.last_snapshot >= :snapshot_id)
    WHERE c.amount >= r.decp_min_amount
    GROUP BY r.annee, c.notified_on, c.region_code
) g
JOIN ref_procurement_rules r ON r.annee = g.annee
LEFT JOIN (
    SELECT code_region, annee, COUNT(*) AS n
    FROM mart_procurement_buyers
    WHERE as_of = :as_of
    GROUP BY code_region, annee
) b ON COALESCE(b.code_region, '') = COALESCE(g.region_code, '') AND b.annee = g.annee
GROUP BY g.region_code, g.annee, r.rules_version, r.pnad_social_share_target;
