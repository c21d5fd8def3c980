-- The procurement rules of every year, before they are written again.
DELETE FROM ref_procurement_rules;
