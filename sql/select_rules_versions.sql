-- The versions of the rules the strands as of :as_of were judged by.
SELECT DISTINCT rules_version
FROM mart_conventions
WHERE as_of = :as_of
