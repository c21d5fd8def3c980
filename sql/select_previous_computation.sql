-- The latest date computed before :as_of, with the fingerprint of its inputs.
SELECT as_of, inputs_sha256
FROM computations
WHERE as_of < :as_of
ORDER BY as_of DESC
LIMIT 1
