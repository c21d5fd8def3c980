-- The regions with a convention strand, a file or a counted public contract (contract §8.4) as
-- of :as_of: each gets an extract.
SELECT code_region FROM mart_conventions WHERE as_of = :as_of
UNION
SELECT region FROM mart_files WHERE as_of = :as_of
UNION
SELECT code_region FROM mart_procurement WHERE as_of = :as_of AND code_region IS NOT NULL
