-- Which of the contents :shas (a list) have their rows in the staging tables already.
SELECT sha256
FROM raw_loads
WHERE sha256 IN :shas
