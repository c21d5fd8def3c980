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
