-- Every convention strand known as of :as_of with its figures (contract §5) and amounts (§6).
-- Amounts are exact integer cents: eligible = round_half_up(min(subsidy, rate × cost) × f), with
-- the rate in basis points and f = days_in_post / days_total, so that no float rounding decides
-- a cent. The decision columns are filled by update_mart_conventions_decision.sql.
INSERT INTO mart_conventions (
    as_of, num_convention, millesime, code_region, siret_porteur, raison_sociale,
    categorie_juridique, volet, num_avenant, date_debut, date_fin, date_recrutement,
    etp_conventionnes, fraction_en_poste, etp_en_poste,
    heures, beneficiaires, beneficiaires_etp, structures_inclusives, contacts_acheteurs,
    marches_accompagnes, partenariats,
    heures_par_etp, beneficiaires_par_etp, beneficiaires_etp_par_etp,
    structures_inclusives_par_etp, contacts_acheteurs_par_etp, marches_accompagnes_par_etp,
    partenariats_par_etp, atteinte_globale,
    objectif_heures, objectif_beneficiaires, objectif_beneficiaires_etp,
    objectif_structures_inclusives, objectif_contacts_acheteurs, objectif_marches_accompagnes,
    objectif_partenariats,
    cout_total_cents, subvention_etat_cents, cofinancements_cents,
    financements_preexistants_cents, rate_bp,
    subvention_eligible_cents, avance_versee_cents, solde_theorique_cents, rules_version
)
SELECT :as_of, num_convention, millesime, code_region, siret_porteur, raison_sociale,
       categorie_juridique, volet, num_avenant, date_debut, date_fin, date_recrutement,
       etp_conventionnes, fraction_en_poste, etp_en_poste,
       heures, beneficiaires, beneficiaires_etp, structures_inclusives, contacts_acheteurs,
       marches_accompagnes, partenariats,
       heures_par_etp, beneficiaires_par_etp, beneficiaires_etp_par_etp,
       structures_inclusives_par_etp, contacts_acheteurs_par_etp, marches_accompagnes_par_etp,
       partenariats_par_etp,
       CASE WHEN n_objectives > 0 AND etp_en_poste > 0 THEN attainment_sum / n_objectives END,
       objectif_heures, objectif_beneficiaires, objectif_beneficiaires_etp,
       objectif_structures_inclusives, objectif_contacts_acheteurs, objectif_marches_accompagnes,
       objectif_partenariats,
       cout_total_cents, subvention_etat_cents, cofinancements_cents,
       financements_preexistants_cents, rate_bp,
       eligible_cents, avance_versee_cents, eligible_cents - avance_versee_cents, rules_version
FROM (
    SELECT f.*,
           -- number of evaluated indicators and the sum of min(attainment, 1) over them
           (CASE WHEN f.objectif_heures > 0 THEN 1 ELSE 0 END
            + CASE WHEN f.objectif_beneficiaires > 0 THEN 1 ELSE 0 END
            + CASE WHEN f.objectif_beneficiaires_etp > 0 THEN 1 ELSE 0 END
            + CASE WHEN f.objectif_structures_inclusives > 0 THEN 1 ELSE 0 END
            + CASE WHEN f.objectif_contacts_acheteurs > 0 THEN 1 ELSE 0 END
            + CASE WHEN f.objectif_marches_accompagnes > 0 THEN 1 ELSE 0 END
            + CASE WHEN f.objectif_partenariats > 0 THEN 1 ELSE 0 END) AS n_objectives,
           (CASE WHEN f.objectif_heures > 0 THEN
                CASE WHEN f.heures_par_etp >= f.objectif_heures THEN 1.0
                     ELSE f.heures_par_etp / f.objectif_heures END ELSE 0 END
            + CASE WHEN f.objectif_beneficiaires > 0 THEN
                CASE WHEN f.beneficiaires_par_etp >= f.objectif_beneficiaires THEN 1.0
                     ELSE f.beneficiaires_par_etp / f.objectif_beneficiaires END ELSE 0 END
            + CASE WHEN f.objectif_beneficiaires_etp > 0 THEN
                CASE WHEN f.beneficiaires_etp_par_etp >= f.objectif_beneficiaires_etp THEN 1.0
                     ELSE f.beneficiaires_etp_par_etp / f.objectif_beneficiaires_etp END ELSE 0 END
            + CASE WHEN f.objectif_structures_inclusives > 0 THEN
                CASE WHEN f.structures_inclusives_par_etp >= f.objectif_structures_inclusives
                     THEN 1.0
                     ELSE f.structures_inclusives_par_etp / f.objectif_structures_inclusives END
                ELSE 0 END
            + CASE WHEN f.objectif_contacts_acheteurs > 0 THEN
                CASE WHEN f.contacts_acheteurs_par_etp >= f.objectif_contacts_acheteurs THEN 1.0
                     ELSE f.contacts_acheteurs_par_etp / f.objectif_contacts_acheteurs END
                ELSE 0 END
            + CASE WHEN f.objectif_marches_accompagnes > 0 THEN
                CASE WHEN f.marches_accompagnes_par_etp >= f.objectif_marches_accompagnes
                     THEN 1.0
                     ELSE f.marches_accompagnes_par_etp / f.objectif_marches_accompagnes END
                ELSE 0 END
            + CASE WHEN f.objectif_partenariats > 0 THEN
                CASE WHEN f.partenariats_par_etp >= f.objectif_partenariats THEN 1.0
                     ELSE f.partenariats_par_etp / f.objectif_partenariats END ELSE 0 END
           ) AS attainment_sum,
           (2 * f.capped_scaled * f.days_in_post + 10000 * f.days_total)
               / (2 * 10000 * f.days_total) AS eligible_cents
    FROM (
        SELECT e.*,
               CASE WHEN e.etp_en_poste > 0 THEN e.heures / e.etp_en_poste END AS heures_par_etp,
               CASE WHEN e.etp_en_poste > 0 THEN e.beneficiaires / e.etp_en_poste END
                   AS beneficiaires_par_etp,
               CASE WHEN e.etp_en_poste > 0 THEN e.beneficiaires_etp / e.etp_en_poste END
                   AS beneficiaires_etp_par_etp,
               CASE WHEN e.etp_en_poste > 0 THEN e.structures_inclusives / e.etp_en_poste END
                   AS structures_inclusives_par_etp,
               CASE WHEN e.etp_en_poste > 0 THEN e.contacts_acheteurs / e.etp_en_poste END
                   AS contacts_acheteurs_par_etp,
               CASE WHEN e.etp_en_poste > 0 THEN e.marches_accompagnes / e.etp_en_poste END
                   AS marches_accompagnes_par_etp,
               CASE WHEN e.etp_en_poste > 0 THEN e.partenariats / e.etp_en_poste END
                   AS partenariats_par_etp,
               -- min(subsidy, rate × cost), in cents × 10 000
               CASE WHEN e.subvention_etat_cents * 10000 < e.rate_bp * e.cout_total_cents
                    THEN e.subvention_etat_cents * 10000
                    ELSE e.rate_bp * e.cout_total_cents END AS capped_scaled
        FROM (
            SELECT s.num_convention, s.millesime, c.code_region, c.siret_porteur,
                   c.raison_sociale, c.categorie_juridique, c.volet, c.num_avenant,
                   c.date_debut, c.date_fin, c.date_recrutement, c.etp_conventionnes,
                   s.days_in_post, s.days_total,
                   CAST(s.days_in_post AS DOUBLE PRECISION) / s.days_total AS fraction_en_poste,
                   c.etp_conventionnes * s.days_in_post / s.days_total AS etp_en_poste,
                   a.heures, a.beneficiaires,
                   a.heures / 1607.0 AS beneficiaires_etp,
                   a.structures_inclusives, a.contacts_acheteurs, a.marches_accompagnes,
                   a.partenariats,
                   c.objectif_heures, c.objectif_beneficiaires, c.objectif_beneficiaires_etp,
                   c.objectif_structures_inclusives, c.objectif_contacts_acheteurs,
                   c.objectif_marches_accompagnes, c.objectif_partenariats,
                   c.cout_total_cents, c.subvention_etat_cents, c.cofinancements_cents,
                   c.financements_preexistants_cents, c.avance_versee_cents,
                   CASE WHEN c.categorie_juridique LIKE '72%'
                          OR c.categorie_juridique BETWEEN '7343' AND '7348'
                        THEN r.rate_local_authority_bp ELSE r.rate_default_bp END AS rate_bp,
                   r.rules_version
            FROM work_strands s
            JOIN stg_conventions c
                ON c.file_sha256 = s.sha256 AND c.row_number = s.row_number
               AND COALESCE(c.sheet, '') = COALESCE(s.sheet, '')
            JOIN ref_rules r ON r.millesime = s.millesime
            LEFT JOIN work_activity a
                ON a.as_of = s.as_of AND a.num_convention = s.num_convention
               AND a.millesime = s.millesime
            WHERE s.as_of = :as_of
        ) e
    ) f
) g;
