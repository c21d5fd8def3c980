-- The work rows as of :as_of: they live only inside the transaction of a computation.
DELETE FROM work_decp_accompanied WHERE as_of = :as_of;
DELETE FROM work_reached_buyers WHERE as_of = :as_of;
DELETE FROM work_contract_keys WHERE as_of = :as_of;
DELETE FROM work_decp_snapshot WHERE as_of = :as_of;
DELETE FROM work_activity WHERE as_of = :as_of;
DELETE FROM work_bilans WHERE as_of = :as_of;
DELETE FROM work_strands WHERE as_of = :as_of;
DELETE FROM work_partitions WHERE as_of = :as_of;
DELETE FROM work_contents WHERE as_of = :as_of;
