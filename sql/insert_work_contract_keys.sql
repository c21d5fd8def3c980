-- The key of one N° marché (its letters and digits, upper-cased: contract §8.3), computed by
-- clauses.contract.decp.contract_key.
INSERT INTO work_contract_keys (as_of, num_marche, contract_key)
VALUES (:as_of, :num_marche, :contract_key)
