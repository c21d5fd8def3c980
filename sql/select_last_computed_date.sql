-- The last date whose figures were computed (NULL: none yet).
SELECT MAX(as_of) FROM mart_conventions
