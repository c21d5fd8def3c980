"""The data contract as data: kinds and columns (`kinds`), identifiers (SIRET, pseudonyms),
and the vocabulary every stage shares (`vocabulary`: statuses, decisions, rule levels)."""
