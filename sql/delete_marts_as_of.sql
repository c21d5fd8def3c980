-- The mart rows as of :as_of, before they are computed again or carried over.
DELETE FROM mart_conventions WHERE as_of = :as_of;
DELETE FROM mart_rule_results WHERE as_of = :as_of;
DELETE FROM mart_regions WHERE as_of = :as_of;
DELETE FROM mart_files WHERE as_of = :as_of;
DELETE FROM mart_convention_sources WHERE as_of = :as_of;
DELETE FROM mart_monthly_hours WHERE as_of = :as_of;
DELETE FROM mart_decp_files WHERE as_of = :as_of;
DELETE FROM mart_procurement WHERE as_of = :as_of;
DELETE FROM mart_procurement_buyers WHERE as_of = :as_of;
