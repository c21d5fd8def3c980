-- The register's row of :as_of, before the computation that replaces it is recorded.
DELETE FROM computations WHERE as_of = :as_of
