"""Validation of normalised tables with the Great Expectations suites of `expectations/`.

One suite per kind (`expectations/<kind>.json`), run in an ephemeral GX context created at call
time. The tables of several files of one kind are validated in one GX call (a `_file` column
tells them apart, and unique-key expectations include it: GX's cost is mostly per call, not per
row), then the results are split back per file: one `CheckResult` per expectation and file, with
up to 20 example rows of the original file.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd

from clauses.config import EXPECTATIONS_DIR
from clauses.contract import KINDS, Kind

log = logging.getLogger(__name__)

MAX_EXAMPLES = 20
BLOCKING, WARNING = "blocking", "warning"


@dataclass
class CheckResult:
    """The outcome of one expectation (or structural check) on one table of one file."""

    kind: Kind
    sheet: str | None
    check: str  # the GX expectation type, or a structural check name
    column: str  # French header(s) concerned
    level: str  # 'blocking' or 'warning'
    message: str  # French, what is wrong and what to correct
    success: bool
    element_count: int
    unexpected_count: int
    examples: list[dict[str, Any]] = field(default_factory=list)  # ligne, colonne, valeur


@dataclass
class TableToValidate:
    """One table of a batch: its rows are those of the batch whose `_file` is `file_key`."""

    file_key: int
    sheet: str | None
    rows: int
    missing_columns: list[str]  # required headers absent from the file


@cache
def load_suite(kind: Kind) -> dict[str, Any]:
    """The versioned suite of a kind, as stored in `expectations/`."""
    name = KINDS[kind].table.removeprefix("stg_")
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def validate_kind(
    kind: Kind, batch: pd.DataFrame, tables: list[TableToValidate]
) -> dict[int, list[CheckResult]]:
    """Run the suite of `kind` once over `batch`, the normalised rows of several tables told
    apart by their `_file` column; results per file key, every expectation listed."""
    if not tables:
        return {}
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # GX logs at INFO by default
    suite_data = load_suite(kind)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    expectations = [
        ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e["meta"]).to_domain_obj()
        for e in suite_data["expectations"]
    ]
    suite = context.suites.add(
        gx.ExpectationSuite(name=suite_data["name"], expectations=expectations)
    )
    gx_batch = (
        context.data_sources.add_pandas("clauses")
        .add_dataframe_asset(suite_data["name"])
        .add_batch_definition_whole_dataframe("run")
        .get_batch(batch_parameters={"dataframe": batch})
    )
    outcome = gx_batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["_file", "_row"],
        },
    )

    results: dict[int, list[CheckResult]] = {t.file_key: [] for t in tables}
    for result in outcome.results:
        config = result.expectation_config
        assert config is not None  # every result of a suite run names its expectation
        meta = config.meta or {}
        per_file: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for item in result.result.get("unexpected_index_list") or []:
            per_file[int(item["_file"])].append(item)
        for table in tables:
            column = str(meta.get("column", ""))
            if (
                config.type == "expect_column_values_to_not_be_null"
                and column in table.missing_columns
            ):
                continue  # reported once below as a missing column
            failures = per_file.get(table.file_key, [])
            results[table.file_key].append(
                CheckResult(
                    kind=kind,
                    sheet=table.sheet,
                    check=config.type,
                    column=column,
                    level=str(meta.get("level", BLOCKING)),
                    message=str(meta.get("message", "")),
                    success=not failures,
                    element_count=table.rows,
                    unexpected_count=len(failures),
                    examples=[_example(item, column, kind) for item in failures[:MAX_EXAMPLES]],
                )
            )
    for table in tables:
        for header in table.missing_columns:
            results[table.file_key].append(
                CheckResult(
                    kind=kind,
                    sheet=table.sheet,
                    check="required_column_present",
                    column=header,
                    level=BLOCKING,
                    message="colonne obligatoire absente : ajoutez-la avec cet intitulé",
                    success=False,
                    element_count=table.rows,
                    unexpected_count=table.rows,
                )
            )
    return results


DERIVED_LABELS = {"_region": "dossier de dépôt", "_date_mois": "mois de la date"}


def _label(name: str, kind: Kind) -> str:
    """The French header of a frame column (`siret_porteur__err` -> `SIRET porteur`)."""
    base = name.split("__")[0]
    if base in DERIVED_LABELS:
        return DERIVED_LABELS[base]
    return next((c.header for c in KINDS[kind].columns if c.name == base), base)


def _example(item: dict[str, Any], column: str, kind: Kind) -> dict[str, Any]:
    values = {
        key: _display(value)
        for key, value in item.items()
        if key not in ("_file", "_row", "_duplicate")
    }
    if len(values) == 1:
        shown = next(iter(values.values()))
    elif values:
        shown = " ; ".join(f"{_label(key, kind)} = {value}" for key, value in values.items())
    else:
        shown = "ligne identique à une ligne précédente"
    return {"ligne": int(item["_row"]), "colonne": column, "valeur": shown}


def _display(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(vide)"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_blocking_failure(result: CheckResult) -> bool:
    return not result.success and result.level == BLOCKING
