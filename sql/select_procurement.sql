-- The procurement figures as of :as_of per region and year (commande_publique.csv,
-- commande_publique_regions.csv), of the region :region, or of every region and the
-- unattributed contracts (code_region NULL, last) when :region is NULL (the CAST gives
-- PostgreSQL the parameter's type).
SELECT code_region, annee, rules_version, contrats, avec_consideration, montant,
       montant_avec_consideration, objectif_pnad, accompagnes, au_dessus_seuils,
       acheteurs_sans_facilitateur
FROM mart_procurement
WHERE as_of = :as_of
  AND (CAST(:region AS TEXT) IS NULL OR code_region = :region)
ORDER BY CASE WHEN code_region IS NULL THEN 1 ELSE 0 END, code_region, annee
