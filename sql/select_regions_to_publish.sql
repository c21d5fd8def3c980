-- The regions with a convention strand or a file as of :as_of: each gets an extract.
SELECT code_region FROM mart_conventions WHERE as_of = :as_of
UNION
SELECT region FROM mart_files WHERE as_of = :as_of
