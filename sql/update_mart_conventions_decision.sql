-- The decision on each strand as of :as_of (contract §6), the first that applies: 'en cours'
-- while :as_of <= Date de fin, 'reversement' when the theoretical balance is negative,
-- 'suspendu' when a blocking rule failed, 'à examiner' when a warning rule failed, else
-- 'libérable'; with the proposed amount and the failed rule ids in id order.
-- 1. Every strand as if no rule had failed.
UPDATE mart_conventions
SET decision = CASE
        WHEN :as_of <= date_fin THEN 'en cours'
        WHEN solde_theorique_cents < 0 THEN 'reversement'
        ELSE 'libérable'
    END,
    montant_propose_cents = CASE WHEN :as_of <= date_fin THEN NULL ELSE solde_theorique_cents END,
    regles_en_echec = ''
WHERE as_of = :as_of;

-- 2. The strands with failed rules.
UPDATE mart_conventions
SET decision = CASE
        WHEN :as_of <= mart_conventions.date_fin THEN 'en cours'
        WHEN mart_conventions.solde_theorique_cents < 0 THEN 'reversement'
        WHEN COALESCE(x.n_blocking, 0) > 0 THEN 'suspendu'
        WHEN COALESCE(x.n_failed, 0) > 0 THEN 'à examiner'
        ELSE 'libérable'
    END,
    montant_propose_cents = CASE
        WHEN :as_of <= mart_conventions.date_fin THEN NULL
        WHEN mart_conventions.solde_theorique_cents < 0 THEN mart_conventions.solde_theorique_cents
        WHEN COALESCE(x.n_blocking, 0) > 0 THEN 0
        ELSE mart_conventions.solde_theorique_cents
    END,
    regles_en_echec = COALESCE(x.failed_ids, '')
FROM (
    SELECT num_convention, millesime,
           SUM(CASE WHEN level = 'blocking' THEN 1 ELSE 0 END) AS n_blocking,
           COUNT(*) AS n_failed,
           -- ids in id order, '|'-separated; the trailing separator is cut below
           SUBSTR(
               MAX(CASE WHEN rule_id = 'R01' THEN 'R01|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R02' THEN 'R02|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R03' THEN 'R03|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R04' THEN 'R04|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R05' THEN 'R05|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R06' THEN 'R06|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R07' THEN 'R07|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R08' THEN 'R08|' ELSE '' END)
               || MAX(CASE WHEN rule_id = 'R09' THEN 'R09|' ELSE '' END),
               1, CAST(4 * COUNT(*) - 1 AS INTEGER)
           ) AS failed_ids
    FROM mart_rule_results
    WHERE as_of = :as_of AND status = 'failed'
    GROUP BY num_convention, millesime
) x
WHERE mart_conventions.as_of = :as_of
  AND x.num_convention = mart_conventions.num_convention
  AND x.millesime = mart_conventions.millesime;
