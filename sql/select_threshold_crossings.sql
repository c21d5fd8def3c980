-- What may make the figures of :basis differ from those of :as_of when their inputs are the
-- same: the only dates the rules compare with the date itself.
-- - Strands of :basis whose Date de fin or R05 deadline lies in [:basis, :as_of)
--   (update_mart_conventions_decision.sql, insert_mart_rule_results.sql).
-- - A contract of the snapshot in force at :basis notified in (:basis, :as_of] (contract §8.2:
--   only contracts notified on or before the date count). The date of the loi Climat
--   (insert_mart_procurement.sql) needs no check of its own: a contract it changes is notified
--   in (:basis, :as_of] too. Seeks a range of ix_decp_contracts_figures.
-- None: the figures of :basis are those of :as_of.
SELECT (
    SELECT COUNT(*) FROM mart_conventions
    WHERE as_of = :basis AND date_fin >= :basis AND date_fin < :as_of
) + (
    SELECT COUNT(*) FROM mart_rule_results
    WHERE as_of = :basis AND rule_id = 'R05' AND expected_date >= :basis
      AND expected_date < :as_of
) + (
    SELECT COUNT(*) FROM (
        SELECT 1
        FROM mart_decp_files m
        JOIN decp_files f ON f.file_id = m.file_id
        JOIN decp_snapshots s ON s.sha256 = f.sha256
        JOIN decp_contracts c
            ON c.notified_on > :basis AND c.notified_on <= :as_of
           AND c.first_snapshot <= s.snapshot_id
           AND (c.last_snapshot IS NULL OR c.last_snapshot >= s.snapshot_id)
        WHERE m.as_of = :basis AND m.statut = 'chargé'
        LIMIT 1
    ) notified
)
