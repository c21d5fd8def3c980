-- The fingerprint of the inputs the figures as of :as_of were obtained from, and the date they
-- were computed in full (itself, or the date they were carried over from).
SELECT inputs_sha256, basis_as_of
FROM computations
WHERE as_of = :as_of
