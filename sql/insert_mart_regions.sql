-- National consolidation as of :as_of: one row per region and millésime (contract §7).
INSERT INTO mart_regions (
    as_of, code_region, millesime, conventions, etp_conventionnes, etp_en_poste,
    heures, beneficiaires, beneficiaires_etp, structures_inclusives, contacts_acheteurs,
    marches_accompagnes, partenariats, subvention_eligible_cents, avance_versee_cents,
    solde_liberable_cents, solde_a_examiner_cents, solde_suspendu_cents, reversement_cents,
    n_en_cours, n_liberable, n_a_examiner, n_suspendu, n_reversement
)
SELECT :as_of, code_region, millesime, COUNT(*), SUM(etp_conventionnes), SUM(etp_en_poste),
       COALESCE(SUM(heures), 0), COALESCE(SUM(beneficiaires), 0),
       COALESCE(SUM(beneficiaires_etp), 0), COALESCE(SUM(structures_inclusives), 0),
       COALESCE(SUM(contacts_acheteurs), 0), COALESCE(SUM(marches_accompagnes), 0),
       COALESCE(SUM(partenariats), 0),
       SUM(subvention_eligible_cents), SUM(avance_versee_cents),
       SUM(CASE WHEN decision = 'libérable' THEN montant_propose_cents ELSE 0 END),
       SUM(CASE WHEN decision = 'à examiner' THEN montant_propose_cents ELSE 0 END),
       SUM(CASE WHEN decision = 'suspendu' THEN solde_theorique_cents ELSE 0 END),
       SUM(CASE WHEN decision = 'reversement' THEN montant_propose_cents ELSE 0 END),
       SUM(CASE WHEN decision = 'en cours' THEN 1 ELSE 0 END),
       SUM(CASE WHEN decision = 'libérable' THEN 1 ELSE 0 END),
       SUM(CASE WHEN decision = 'à examiner' THEN 1 ELSE 0 END),
       SUM(CASE WHEN decision = 'suspendu' THEN 1 ELSE 0 END),
       SUM(CASE WHEN decision = 'reversement' THEN 1 ELSE 0 END)
FROM mart_conventions
WHERE as_of = :as_of
GROUP BY code_region, millesime;
