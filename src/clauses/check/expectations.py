"""Validation of normalised batches with the Great Expectations suites of `expectations/`.

One suite per kind (`expectations/<kind>.json`), run in an ephemeral GX context created at call
time. The rows of many files of one kind are validated in one GX call (a `_file` column tells
them apart, and unique-key expectations include it: GX's cost is mostly per call, not per row),
then the results are split back per file: one `CheckResult` per expectation and file, with up to
20 example rows of the original file. A big file read in several batches is validated batch by
batch, and its results added up (`FileChecks`); what spans batches (duplicate rows, repeated
keys) is found with hashes (`clauses.check.normalize.DuplicateTracker`, `KeyTracker`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import types
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from clauses.check.normalize import FILE_COLUMN, ROW_COLUMN, NormalizedBatch
from clauses.config import EXPECTATIONS_DIR
from clauses.contract.kinds import KINDS, Kind
from clauses.contract.vocabulary import Level

log = logging.getLogger(__name__)

MAX_EXAMPLES = 20
UNIQUE_KEY_CHECK = "expect_compound_columns_to_be_unique"
NOT_NULL = "expect_column_values_to_not_be_null"


@dataclass
class CheckResult:
    """The outcome of one expectation (or structural check) on one table of one file."""

    kind: Kind | str  # a file kind (§2), or "DECP" (§8.1)
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


def load_suite(kind: Kind) -> dict[str, Any]:
    """The versioned suite of a kind, as stored in `expectations/`."""
    return named_suite(KINDS[kind].table.removeprefix("stg_"))


@cache
def named_suite(name: str) -> dict[str, Any]:
    """The suite `expectations/<name>.json` (a kind's table, or `decp`)."""
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@cache
def suite_columns(kind: Kind) -> frozenset[str]:
    """The columns of a normalised batch that the suite of ``kind`` looks at."""
    names: set[str] = set()
    for expectation in load_suite(kind)["expectations"]:
        kwargs = expectation["kwargs"]
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                names.add(kwargs[key])
        names.update(kwargs.get("column_list", []))
    return frozenset(names)


# Modules GX imports at load time for the one expectation that uses them
# (`expect_column_kl_divergence_to_be_less_than`, in no suite of ours): together half of GX's
# import. Each is left as a stand-in, imported for real the first time anything uses it.
DEFERRED_BY_GX = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """A stand-in for a module not imported yet: the first attribute asked of it imports the
    real one (which then takes its place in `sys.modules`) and answers from it."""

    def __getattr__(self, name: str) -> Any:
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = self.__dict__["_real"] = importlib.import_module(self.__name__)
        return getattr(real, name)


def _defer(name: str) -> None:
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return
    stand_in = sys.modules[name] = _Deferred(name)
    parent, _, child = name.rpartition(".")
    if parent:  # `from scipy import stats` finds the attribute, and imports nothing
        setattr(sys.modules[parent], child, stand_in)


_GX_IMPORT = threading.Lock()


def import_gx_ahead() -> None:
    """Start importing Great Expectations in a thread of its own, for a run whose files are
    being read by worker processes (`clauses.check.read_ahead`): the import, about a second
    and a half of Python, then runs while the run waits for them instead of after. The first
    validation waits for it; an import that fails here fails there again, and is reported."""

    def run() -> None:
        try:
            _import_gx()
        except Exception:
            log.debug("importing Great Expectations ahead failed", exc_info=True)

    threading.Thread(target=run, name="import-gx", daemon=True).start()


def _import_gx() -> Any:
    with _GX_IMPORT:  # one import at a time: `import_gx_ahead`'s thread, or a validation
        return _import_gx_once()


def _import_gx_once() -> Any:
    """Great Expectations, imported on first use only (a night with nothing to validate never
    pays for it), without the modules of `DEFERRED_BY_GX`."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if "great_expectations" not in sys.modules:
        for name in DEFERRED_BY_GX:
            _defer(name)
    import great_expectations
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every frame it is given (a hash of all its cells, a second per million
    # rows) for batch markers nothing here reads; a frame above this size is not fingerprinted.
    pandas_execution_engine.HASH_THRESHOLD = 0
    return great_expectations


def _run_suite(
    suite_data: dict[str, Any],
    frame: pd.DataFrame,
    result_format: dict[str, Any],
    only: list[int] | None = None,
) -> Any:
    """One GX validation of ``frame`` with the suite ``suite_data`` (or its expectations at the
    positions ``only``), in a context of its own (GX keeps every batch it validated in its
    context: a fresh one lets each batch go)."""
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # GX logs at INFO by default
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    chosen = suite_data["expectations"]
    if only is not None:
        chosen = [chosen[i] for i in only]
    expectations = [
        ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e["meta"]).to_domain_obj()
        for e in chosen
    ]
    # Validated as a batch, not through a validation definition: the suite and the results
    # then stay out of the context's stores, where GX would serialise them (a deep copy of
    # every unexpected row: seconds for a national DECP snapshot). Same results.
    batch = (
        context.data_sources.add_pandas("clauses")
        .add_dataframe_asset(suite_data["name"])
        .add_batch_definition_whole_dataframe("run")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=suite_data["name"], expectations=expectations)
    return batch.validate(suite, result_format=result_format)


def suite_results(
    suite_data: dict[str, Any],
    frame: pd.DataFrame,
    result_format: dict[str, Any],
    *,
    verdicts_first: bool = True,
) -> list[Any]:
    """GX's result of every expectation of ``suite_data`` on ``frame``, in suite order.

    The suite runs first for its verdicts alone (BOOLEAN_ONLY: half the cost of collecting
    unexpected rows, which are usually none); only the expectations that failed run again
    with ``result_format``, for their unexpected rows. The suites use no `mostly`: an
    expectation succeeds exactly when no row is unexpected, so the results are those of one
    run with ``result_format``. Where rows are expected to fail every rule in every frame (a
    batch of a national DECP snapshot), ``verdicts_first=False`` runs that one run alone."""
    if not verdicts_first:
        return list(_run_suite(suite_data, frame, result_format).results)
    results = list(_run_suite(suite_data, frame, {"result_format": "BOOLEAN_ONLY"}).results)
    failed = [position for position, result in enumerate(results) if not result.success]
    if failed:
        again = _run_suite(suite_data, frame, result_format, only=failed).results
        for position, result in zip(failed, again, strict=True):
            results[position] = result
    return results


def validate_batch(
    kind: Kind, batch: NormalizedBatch, tables: list[TableToValidate]
) -> dict[int, list[CheckResult]]:
    """Run the suite of `kind` once over `batch`, the normalised rows of one or several tables
    told apart by their file key; results per file key, every expectation listed, in suite
    order, then a failed check per required column missing from a file.

    With one table, GX reports the first examples only (SUMMARY): a batch of a big file full of
    errors costs no more than a clean one.
    """
    if not tables:
        return {}
    frame = batch.validation_frame(set(suite_columns(kind)))
    one_table = len(tables) == 1
    outcome = suite_results(
        load_suite(kind),
        frame,
        {
            "result_format": "SUMMARY" if one_table else "COMPLETE",
            "partial_unexpected_count": MAX_EXAMPLES,
            "unexpected_index_column_names": [FILE_COLUMN, ROW_COLUMN],
        },
    )
    results: dict[int, list[CheckResult]] = {t.file_key: [] for t in tables}
    for result in outcome:
        config = result.expectation_config
        assert config is not None  # every result of a suite run names its expectation
        meta = config.meta or {}
        column = str(meta.get("column", ""))
        per_file: dict[int, list[dict[str, Any]]] = defaultdict(list)
        counts: dict[int, int] = {}
        if one_table:
            key = tables[0].file_key
            per_file[key] = list(result.result.get("partial_unexpected_index_list") or [])
            counts[key] = int(result.result.get("unexpected_count") or 0)
        else:
            for item in result.result.get("unexpected_index_list") or []:
                per_file[int(item[FILE_COLUMN])].append(item)
            counts = {key: len(items) for key, items in per_file.items()}
        # The same for every table (a national night: 95,000 results of about 170 GX results).
        check, level = config.type, str(meta.get("level", Level.BLOCKING))
        message, not_null = str(meta.get("message", "")), check == NOT_NULL
        for table in tables:
            if not_null and column in table.missing_columns:
                continue  # reported once below as a missing column
            failures = per_file.get(table.file_key)
            count = counts.get(table.file_key, 0)
            results[table.file_key].append(
                CheckResult(
                    kind=kind,
                    sheet=table.sheet,
                    check=check,
                    column=column,
                    level=level,
                    message=message,
                    success=count == 0,
                    element_count=table.rows,
                    unexpected_count=count,
                    examples=[_example(item, column, kind) for item in failures[:MAX_EXAMPLES]]
                    if failures
                    else [],
                )
            )
    for table in tables:
        results[table.file_key].extend(missing_column_checks(kind, table))
    return results


def missing_column_checks(kind: Kind, table: TableToValidate) -> list[CheckResult]:
    """A failed blocking check per required column absent from the table."""
    return [
        CheckResult(
            kind=kind,
            sheet=table.sheet,
            check="required_column_present",
            column=header,
            level=Level.BLOCKING,
            message="colonne obligatoire absente : ajoutez-la avec cet intitulé",
            success=False,
            element_count=table.rows,
            unexpected_count=table.rows,
        )
        for header in table.missing_columns
    ]


class FileChecks:
    """The results of one table of a file validated batch by batch, added up: per check, the
    rows looked at, the rows concerned and the first examples in the order of the file."""

    def __init__(self) -> None:
        self.results: list[CheckResult] = []

    def add(self, batch_results: list[CheckResult]) -> None:
        """Add a batch's results; the first batch's are kept as they are (`validate_batch`
        makes new ones on every call: copying them cost a second per national night)."""
        if not self.results:
            self.results = batch_results
            return
        assert len(batch_results) == len(self.results)  # the same suite, the same order
        for total, result in zip(self.results, batch_results, strict=True):
            total.element_count += result.element_count
            total.unexpected_count += result.unexpected_count
            total.success = total.success and result.success
            room = MAX_EXAMPLES - len(total.examples)
            if room > 0:
                total.examples.extend(result.examples[:room])

    @property
    def blocking(self) -> bool:
        return any(is_blocking_failure(r) for r in self.results)


class KeyTracker:
    """The unique keys of one table read in several batches (N° convention, Millésime and N°
    avenant or Type de bilan, contract §4): GX sees each batch alone, so a key repeated in two
    batches is found here, from a 64-bit hash and the row of every row (16 bytes a row)."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.columns = list(KINDS[kind].unique_within_file)
        self._hashes: list[np.ndarray] = []
        self._batches: list[np.ndarray] = []

    @property
    def active(self) -> bool:
        return bool(self.columns)

    def add(self, batch: NormalizedBatch) -> None:
        if self.active:
            self._hashes.append(batch.value_hashes(self.columns))
            self._batches.append(np.full(len(batch), len(self._batches), dtype=np.int32))

    def repeated_across_batches(self) -> tuple[int, np.ndarray] | None:
        """(rows concerned, hashes of the repeated keys) when a key repeats across batches;
        None when every repeated key stays within one batch (GX's counts are then exact)."""
        if len(self._hashes) < 2:
            return None
        hashes = np.concatenate(self._hashes)
        batches = np.concatenate(self._batches)
        keys, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
        repeated = counts[inverse] > 1
        if not repeated.any():
            return None
        # A key whose rows are all in one batch was counted by GX; is any other?
        first = np.full(len(keys), np.iinfo(np.int32).max, dtype=np.int64)
        last = np.full(len(keys), -1, dtype=np.int64)
        np.minimum.at(first, inverse, batches)
        np.maximum.at(last, inverse, batches)
        if not ((first != last) & (counts > 1)).any():
            return None
        return int(repeated.sum()), keys[counts > 1]

    def examples(
        self, batch: NormalizedBatch, repeated: np.ndarray, column: str, room: int
    ) -> list[dict[str, Any]]:
        """Up to ``room`` examples of ``batch`` whose key is in ``repeated``, shown as GX shows
        them (the key's values)."""
        hashes = batch.value_hashes(self.columns)
        concerned = np.flatnonzero(np.isin(hashes, repeated))[:room]
        if not len(concerned):
            return []
        frame = batch.validation_frame(set(self.columns)).iloc[concerned]
        return [
            _example(
                {FILE_COLUMN: 0, ROW_COLUMN: row[ROW_COLUMN], **{c: row[c] for c in self.columns}},
                column,
                self.kind,
            )
            for row in frame.to_dict("records")
        ]


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
    return not result.success and result.level == Level.BLOCKING
