"""Checking a DECP snapshot (contract §8.1-8.2): each row typed, the row rules run as the Great
Expectations suite `expectations/decp.json`, the failing rows excluded and counted by rule, and
each contract's values read from its first valid initial row.

A snapshot is read batch by batch (`clauses.read.decp`); each batch is typed, validated (one GX
run, verdicts first, unexpected rows only for the rules that failed) and reduced at once to the
first valid initial row of each contract it holds, so memory follows the contracts kept, not the
rows read. Every distinct text of a column is interpreted once (a national snapshot has 1.8
million rows but a few thousand dates and a few dozen consideration lists).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clauses.check.expectations import (
    MAX_EXAMPLES,
    CheckResult,
    FileChecks,
    named_suite,
    suite_results,
)
from clauses.contract import decp
from clauses.contract.identifiers import normalize_siret, siret_is_valid
from clauses.contract.vocabulary import Level
from clauses.read.decp import SnapshotColumns, snapshot_batches

log = logging.getLogger(__name__)

KIND = "DECP"
SUITE = "decp"
ROW = "_row"  # the row's line in the file (header = line 1 for a CSV; row 1 = first for Parquet)
CONTRACT_COLUMNS = (
    "uid",
    "contract_key",
    "buyer_siret",
    "notified_on",
    "amount",
    "social",
    "works",
    "region_code",
)
# A version is a uid with its values: a change of any is a new version. The uid is in the
# digest, so a version is found again by its digest alone.
HASHED = CONTRACT_COLUMNS
UNIQUE_TEXTS = ("uid", "contract_key")  # nearly one distinct value per contract
# Columns kept as read for the contracts kept (their key, name, region and type): the number
# and the optional columns but `modification_id`, which only tells the initial rows.
RAW_KEPT = ("id", *(name for name in decp.OPTIONAL if name != "modification_id"))
_DATE = r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?\s*$"


@dataclass
class SnapshotExamination:
    """What a snapshot holds once checked: its contracts (one row per uid with a valid initial
    row, CONTRACT_COLUMNS plus `row_hash`), its buyers (`buyer_siret`, `buyer_name`: the name of
    the buyer's first valid initial row, §8.4), its rows read and excluded, and one CheckResult
    per row rule (with up to MAX_EXAMPLES examples)."""

    columns: SnapshotColumns
    rows: int = 0
    excluded: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    buyers: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def excluded_share(self) -> float:
        return self.excluded / self.rows if self.rows else 0.0

    def too_many_excluded(self) -> bool:
        return self.excluded_share > decp.MAX_EXCLUDED_SHARE

    def exclusion_summary(self) -> str:
        """`n lignes exclues sur m : rule (k) ; ...`, for the registry's reason (French)."""
        if not self.excluded:
            return ""
        reasons = " ; ".join(
            f"{c.column} : {c.message} ({c.unexpected_count})" for c in self.checks if not c.success
        )
        return f"{self.excluded} ligne(s) exclue(s) sur {self.rows} : {reasons}"


def examine_snapshot(path: Path, min_amount: float = 0.0) -> SnapshotExamination:
    """Read and check the snapshot at ``path``; its contracts are those whose amount reaches
    ``min_amount`` (below it a contract counts in no year). Raises
    `clauses.read.decp.SnapshotUnreadable` (French message) when it is not a readable table or
    lacks a required column.

    Each batch is typed as far as the row rules need, validated, and reduced to the first valid
    initial row of each contract it holds (Arrow, no Python object per row); what only the kept
    contracts need (their number's key, their region, their type) is derived once at the end."""
    columns, batches = snapshot_batches(path)
    header_lines = 0 if path.name.lower().endswith(".parquet") else 1
    examination = SnapshotExamination(columns)
    suite = named_suite(SUITE)
    totals = FileChecks()  # the rules' results, added up over the batches
    parts: list[pa.Table] = []
    buyers: list[pa.Table] = []
    for table in batches:
        first_line = examination.rows + 1 + header_lines
        checked, frame = _checked(table, first_line)
        excluded = np.zeros(table.num_rows, dtype=bool)
        results = _checks(suite, frame, first_line, excluded)
        del frame
        totals.add(results)
        examination.rows += table.num_rows
        examination.excluded += int(excluded.sum())
        kept = checked.filter(pa.array(~excluded & checked.column("initial").to_numpy()))
        del checked
        buyers.append(
            kept.select(["buyer_siret", "acheteur_nom"]).take(first_of_each(kept, "buyer_siret"))
        )
        part = _derived(kept.take(first_of_each(kept, "uid")))
        # digested here, a batch at a time: the Python strings hashing needs stay few
        parts.append(part.append_column("row_hash", pa.array(row_hashes(part, HASHED))))
    examination.checks = totals.results or _checks(
        suite, _checked(_empty(), 1)[1], 1, np.zeros(0, bool)
    )
    if not parts:
        empty = _derived(_checked(_empty(), 1)[0])
        parts = [empty.append_column("row_hash", pa.array([], pa.int64()))]
    whole = pa.concat_tables(parts)
    del parts
    first = first_of_each(whole, "uid")
    amounts = whole.column("amount").to_numpy()[first]
    whole = whole.take(first[amounts >= min_amount])  # one copy of the contracts kept
    examination.contracts = _contracts(whole)
    del whole
    names = (
        pa.concat_tables(buyers) if buyers else pa.table({"buyer_siret": [], "acheteur_nom": []})
    )
    names = names.take(first_of_each(names, "buyer_siret"))
    examination.buyers = pd.DataFrame(
        {
            "buyer_siret": names.column("buyer_siret")
            .to_numpy(zero_copy_only=False)
            .astype(object),
            "buyer_name": names.column("acheteur_nom").to_pandas(),
        }
    )
    return examination


def _derived(kept: pa.Table) -> pa.Table:
    """The contracts of a batch with what they need from the columns kept as read: the key of
    their number, their region and whether they are works (CONTRACT_COLUMNS)."""
    codes, works_by = _per_distinct(kept.column("type"), _works)
    return pa.table(
        {
            "uid": kept.column("uid"),
            "contract_key": decp.contract_keys(kept.column("id")),
            "buyer_siret": kept.column("buyer_siret"),
            "notified_on": kept.column("notified_on"),
            "amount": kept.column("amount"),
            "social": kept.column("social"),
            "works": pa.array(works_by[codes], pa.bool_()),
            "region_code": pa.array(_regions(kept), pa.string()),
        }
    )


def _contracts(kept: pa.Table) -> pd.DataFrame:
    """The stored form of the kept contracts (CONTRACT_COLUMNS and `row_hash`): texts stay
    Arrow strings (no Python object per contract), dates and numbers numpy arrays."""
    return pd.DataFrame(
        {
            name: kept.column(name).to_pandas()
            if pa.types.is_large_string(kept.column(name).type)
            or pa.types.is_string(kept.column(name).type)
            else kept.column(name).to_numpy(zero_copy_only=False)
            for name in (*CONTRACT_COLUMNS, "row_hash")
        }
    )


def first_of_each(table: pa.Table, name: str) -> np.ndarray:
    """The positions in ``table`` of the first row of each value of its column ``name``, in
    order (exact: a stable sort of the values, each compared with the one before it; a third
    of the memory of hashing them, for a national snapshot's million contracts)."""
    values = table.column(name)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_null(values.type):  # a column with no value at all: nothing to compare
        values = values.cast(pa.large_string())
    order = pc.sort_indices(values).to_numpy()  # stable: equal values keep their order
    ordered = values.take(order)
    before, after = ordered[:-1], ordered[1:]
    same = pc.or_(
        pc.fill_null(pc.equal(after, before), False),
        pc.and_(pc.is_null(after), pc.is_null(before)),  # nulls: one value
    )
    first = np.ones(len(order), dtype=bool)
    first[1:] = ~same.to_numpy(zero_copy_only=False)
    return np.sort(order[first])


def row_hashes(data: pd.DataFrame | pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """A 64-bit digest of each row's values in ``columns`` (pandas' stable hashing, column by
    column: a text column is hashed as Python strings, much faster than as Arrow strings; the
    same values give the same digest from a frame or an Arrow table)."""
    combined = np.zeros(len(data), dtype=np.uint64)
    for position, name in enumerate(columns):
        array = _hashable(data, name)
        # Columns with few distinct values are hashed once per value; a contract's uid and
        # number are nearly unique, and factorising them first costs ten times the hashing.
        hashed = pd.util.hash_array(array, categorize=name not in UNIQUE_TEXTS)
        combined = combined * np.uint64(1_000_003) ^ hashed ^ np.uint64(position)
    return combined.view(np.int64)


def _hashable(data: pd.DataFrame | pa.Table, name: str) -> np.ndarray:
    """A column as numpy: texts as Python strings with None for null, others as they are."""
    if isinstance(data, pa.Table):
        values = data.column(name)
        if pa.types.is_date(values.type):  # as a frame holds it: seconds, not days
            return values.cast(pa.timestamp("s")).to_numpy(zero_copy_only=False)
        return values.to_numpy(zero_copy_only=False)
    values = data[name]
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        return values.to_numpy(dtype=object, na_value=None)
    return values.to_numpy()


def _empty() -> pa.Table:
    return pa.table({name: pa.array([], pa.large_string()) for name in decp.REQUIRED})


def _column(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name in table.column_names:
        return table.column(name)
    return pa.chunked_array([pa.nulls(table.num_rows, pa.large_string())])


def _per_distinct(values: pa.ChunkedArray, interpret: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes per row, interpretation per distinct value + one for null at the end)."""
    encoded = pc.dictionary_encode(values.combine_chunks())
    dictionary = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(pd.isna(codes), len(dictionary), codes).astype(np.int64)
    return codes, interpret(dictionary + [None])


def _checked(table: pa.Table, first_line: int) -> tuple[pa.Table, pd.DataFrame]:
    """The rows of ``table`` with the values the row rules type (`uid`, `buyer_siret`,
    `notified_on`, `amount`, `social`, `initial`) beside the columns kept as read (`id`,
    `acheteur_nom`, the region's four, `type`), and the frame the suite validates (`uid`, the
    `__err` columns, `_row`)."""
    n = table.num_rows
    uid = pc.utf8_trim_whitespace(_column(table, "uid"))
    uid = pc.if_else(pc.equal(uid, ""), None, uid)
    siret_codes, sirets = _per_distinct(_column(table, "acheteur_id"), _sirets)
    siret_err = sirets[1][siret_codes]
    codes, dates = _per_distinct(_column(table, "dateNotification"), _dates)
    notified_on, date_err = dates[0][codes], dates[1][codes]
    amount, amount_err = _amounts(table.column("montant"))
    codes, socials = _per_distinct(_column(table, "considerationsSociales"), _socials)
    social, social_err = socials[0][codes], socials[1][codes]
    codes, initials = _per_distinct(_column(table, "modification_id"), _initials)
    checked = pa.table(
        {
            "uid": uid,
            "buyer_siret": _decoded(siret_codes, sirets[0]),
            "notified_on": pa.array(notified_on, pa.date32()),
            "amount": pa.array(amount, pa.float64()),
            "social": pa.array(social, pa.bool_()),
            "initial": pa.array(initials[codes], pa.bool_()),
            **{name: _column(table, name) for name in RAW_KEPT},
        }
    )
    frame = pd.DataFrame(
        {
            "uid": uid.to_pandas(),
            "acheteur_id__err": siret_err,
            "dateNotification__err": date_err,
            "montant__err": amount_err,
            "considerationsSociales__err": social_err,
            ROW: np.arange(first_line, first_line + n, dtype=np.int64),
        }
    )
    return checked, frame


def _decoded(codes: np.ndarray, values: np.ndarray) -> pa.Array:
    """``values[codes]`` as Arrow strings, decoded by Arrow from the distinct values."""
    dictionary = pa.array(values, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), dictionary).cast(pa.string())


def _sirets(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    raw = pd.Series(values, dtype=object)
    normalised = normalize_siret(raw)
    valid = siret_is_valid(normalised).to_numpy()
    sirets = normalised.to_numpy(dtype=object, copy=True)
    sirets[~valid] = None
    errors = raw.fillna("(vide)").to_numpy(dtype=object, copy=True)
    errors[valid] = None
    return sirets, errors


def _dates(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    low, high = decp.YEARS
    parts = pd.Series(values, dtype=object).str.extract(_DATE)
    typed: list[date | None] = []
    for year, month, day in parts.itertuples(index=False):
        try:
            found = date(int(year), int(month), int(day)) if isinstance(year, str) else None
        except ValueError:
            found = None
        typed.append(found if found is not None and low <= found.year <= high else None)
    dates = np.array(
        [np.datetime64(d, "D") if d else np.datetime64("NaT") for d in typed], dtype="datetime64[D]"
    )
    errors = np.array(
        [
            None if d is not None else (v if v is not None else "(vide)")
            for d, v in zip(typed, values, strict=True)
        ],
        dtype=object,
    )
    return dates, errors


def _amounts(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Euros excluding tax: a number (as read from a numeric column, or a text with a decimal
    point or comma, spaces between thousands allowed as §3), finite and >= 0."""
    if pa.types.is_floating(values.type):
        numbers = values.to_numpy(zero_copy_only=False).astype(np.float64)
    else:
        cleaned = pc.replace_substring_regex(values, "[\\s\u00a0\u202f]", "")
        cleaned = pc.replace_substring(cleaned, ",", ".")
        numbers = pd.to_numeric(cleaned.to_pandas(), errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(numbers) & (numbers >= 0)
    amounts = np.where(valid, numbers, np.nan)
    errors = np.full(len(numbers), None, dtype=object)
    if not valid.all():
        raw = values.to_numpy(zero_copy_only=False).astype(object)
        wrong = ~valid
        errors[wrong] = np.where(pd.isna(raw[wrong]), "(vide)", raw[wrong].astype(str))
    return amounts, errors


def _socials(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    found = [decp.social_consideration(v) for v in values]
    social = np.array([bool(f) for f in found], dtype=bool)
    errors = np.array(
        [v if f is None else None for v, f in zip(values, found, strict=True)], dtype=object
    )
    return social, errors


def _initials(values: list[str | None]) -> np.ndarray:
    """Initial data: `modification_id` 0 or empty (§8.2)."""

    def initial(value: str | None) -> bool:
        text = (value or "").strip()
        return not text or (text.isdigit() and int(text) == 0)

    return np.array([initial(v) for v in values], dtype=bool)


def _works(values: list[str | None]) -> np.ndarray:
    key = decp.consideration_key(decp.WORKS)
    return np.array([decp.consideration_key(v or "") == key for v in values], dtype=bool)


def _regions(table: pa.Table) -> np.ndarray:
    """The region of each row (§8.2, `decp.contract_region`), each column's distinct values
    interpreted once: the buyer's region, else its department's, else the place's by its type."""
    _, buyer_region = _interpreted(table, "acheteur_region_code", decp.region_code)
    _, buyer_department = _interpreted(table, "acheteur_departement_code", decp.department_region)
    _, kind = _interpreted(table, "lieuExecution_typeCode", decp.place_kind)
    codes, distinct = _per_distinct(_column(table, "lieuExecution_code"), lambda v: v)
    place = np.full(table.num_rows, None, dtype=object)
    for name in ("region", "department", "town"):
        rows = kind == name
        if rows.any():
            used = np.unique(codes[rows])  # the codes of this kind only
            by_code = np.full(len(distinct), None, dtype=object)
            by_code[used] = [decp.place_region(distinct[i], name) for i in used]
            place[rows] = by_code[codes[rows]]
    found = np.where(pd.isna(buyer_department), place, buyer_department)
    return np.where(pd.isna(buyer_region), found, buyer_region)


def _interpreted(table: pa.Table, name: str, interpret: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes, `interpret` of each row's value of column ``name``), computed per distinct value."""
    codes, by_value = _per_distinct(
        _column(table, name), lambda values: np.array([interpret(v) for v in values], object)
    )
    return codes, by_value[codes]


def _checks(
    suite: dict[str, Any], frame: pd.DataFrame, first_line: int, excluded: np.ndarray
) -> list[CheckResult]:
    """One CheckResult per rule of the suite on ``frame``; ``excluded`` (one flag per row of
    the frame) is set for every row a rule found unexpected."""
    # A national snapshot's batch breaks most rules somewhere (about 1% of its rows are
    # excluded): a first run for the verdicts alone would be paid for nothing.
    outcome = suite_results(
        suite,
        frame,
        {"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]},
        verdicts_first=False,
    )
    checks = []
    for result in outcome:
        config = result.expectation_config
        meta = config.meta or {}
        column = str(config.kwargs["column"])
        items = result.result.get("unexpected_index_list") or []
        rows = np.fromiter((int(item[ROW]) for item in items), dtype=np.int64, count=len(items))
        excluded[rows - first_line] = True
        checks.append(
            CheckResult(
                kind=KIND,
                sheet=None,
                check=config.type,
                column=str(meta.get("column", column)),
                level=str(meta.get("level", Level.EXCLUSION)),
                message=str(meta.get("message", "")),
                success=not len(rows),
                element_count=len(frame),
                unexpected_count=len(rows),
                examples=[
                    {
                        "ligne": int(item[ROW]),
                        "colonne": str(meta.get("column", column)),
                        "valeur": _shown(item.get(column)),
                    }
                    for item in items[:MAX_EXAMPLES]
                ],
            )
        )
    return checks


def _shown(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(vide)"
    return str(value)[:200]
