-- Strands as of :end whose decision or proposed amount differs from :start's (or that :start
-- did not know), with both; of the region :region, or of every region when :region is NULL
-- (the CAST gives PostgreSQL the parameter's type).
SELECT COALESCE(b.num_convention, a.num_convention), COALESCE(b.millesime, a.millesime),
       COALESCE(b.code_region, a.code_region),
       a.decision, b.decision, a.montant_propose_cents, b.montant_propose_cents,
       a.regles_en_echec, b.regles_en_echec
FROM mart_conventions b
LEFT JOIN mart_conventions a
    ON a.as_of = :start AND a.num_convention = b.num_convention AND a.millesime = b.millesime
WHERE b.as_of = :end
  AND (a.num_convention IS NULL OR a.decision <> b.decision
       OR COALESCE(a.montant_propose_cents, -1) <> COALESCE(b.montant_propose_cents, -1))
  AND (CAST(:region AS TEXT) IS NULL OR COALESCE(b.code_region, a.code_region) = :region)
ORDER BY 3, 1, 2
