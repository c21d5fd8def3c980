-- The buyers without a facilitator of the region :region as of :as_of
-- (acheteurs_sans_facilitateur.csv): by year, then amount descending, then SIRET.
SELECT annee, buyer_siret, buyer_name, contrats, montant
FROM mart_procurement_buyers
WHERE as_of = :as_of AND code_region = :region
ORDER BY annee, montant DESC, buyer_siret
