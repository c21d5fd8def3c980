"""The ranges of the data contract are written twice, as data (`clauses.contract.kinds`, what
the normaliser and the reports use) and as Great Expectations suites (`expectations/*.json`,
what validates): this test ties them, both ways, so that neither can change alone."""

from __future__ import annotations

import json

import pytest

from clauses.config import EXPECTATIONS_DIR
from clauses.contract.kinds import KINDS, Kind

BETWEEN = "expect_column_values_to_be_between"


def suite(kind: Kind) -> list[dict]:  # type: ignore[type-arg]
    name = KINDS[kind].table.removeprefix("stg_")
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))[
        "expectations"
    ]


@pytest.mark.parametrize("kind", list(Kind))
def test_every_range_of_the_contract_is_an_expectation_and_back(kind: Kind) -> None:
    from_contract = set()
    for column in KINDS[kind].columns:
        if column.min is not None or column.max is not None:
            from_contract.add(
                ("blocking", column.name, column.min, column.max, column.min_exclusive)
            )
        if column.warn_max is not None:
            from_contract.add(("warning", column.name, None, column.warn_max, False))
    from_suite = {
        (
            e["meta"]["level"],
            e["kwargs"]["column"],
            e["kwargs"].get("min_value"),
            e["kwargs"].get("max_value"),
            bool(e["kwargs"].get("strict_min", False)),
        )
        for e in suite(kind)
        if e["type"] == BETWEEN
    }
    assert from_suite == from_contract


def test_a_contract_column_pickles_as_itself_and_any_other_whole() -> None:
    """Worker processes send each file's column plan back (`clauses.check.read_ahead`): a
    column of KINDS comes back as that very column (by its header and name); a column named
    like two different ones of KINDS, or made elsewhere, comes back equal, not the same."""
    import dataclasses
    import pickle

    from clauses.contract.kinds import ColType, Column

    columns = {id(c): c for spec in KINDS.values() for c in spec.columns}.values()
    by_name: dict[tuple[str, str], set[int]] = {}
    for column in columns:
        by_name.setdefault((column.header, column.name), set()).add(id(column))
    shared = 0
    for column in columns:
        back = pickle.loads(pickle.dumps(column, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == column
        if len(by_name[column.header, column.name]) == 1:
            assert back is column
            shared += 1
        else:  # two different columns of that name: pickled whole
            assert back is not column
    assert shared > 40 and shared < len(columns)
    made = Column("SIRET porteur", "siret_porteur", ColType.SIRET, required=False)
    back = pickle.loads(pickle.dumps(made))
    assert back == made and back is not made
    assert dataclasses.replace(back, required=True) == KINDS[Kind.HEURES].column("siret_porteur")
