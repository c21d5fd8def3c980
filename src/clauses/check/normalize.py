"""Typing of the text `clauses.read.files` returns (contract §2-3).

`normalize_batch` turns every contract column of a batch of rows into its typed value, keeps the
original text next to it for reports, and marks the values that do not fit their type. It decides
nothing else: ranges, required values and cross-column rules are validation's job.

Values are parsed once per distinct text (`clauses.check.values`); a batch keeps, per column,
the distinct values and each row's code, and spreads them to rows only where a consumer asks
(validation wants a few columns, the warehouse the typed values).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clauses.check.values import Text, distinct_text, month_of, parser_for, spread_values
from clauses.contract.identifiers import pseudonymize
from clauses.contract.kinds import KINDS, REGIONS, ColType, Column, Kind
from clauses.read.tables import ROW_COLUMN, SheetTable

log = logging.getLogger(__name__)

RAW_SUFFIX = "__raw"
ERR_SUFFIX = "__err"
MASK = "***"
DUPLICATE_COLUMN = "_duplicate"
DATE_MONTH_COLUMN = "_date_mois"
FOLDER_REGION_COLUMN = "_region"
FILE_COLUMN = "_file"  # which file of a batch a row comes from

# The date column whose month is compared with `Mois`, per kind.
_DATE_OF_MONTH: dict[Kind, str] = {
    Kind.CONTACTS: "date_contact",
    Kind.PARTENARIATS: "date_partenariat",
}


_MISSING_HASH = np.uint64(0x9E3779B97F4A7C15)
_HASH_MULTIPLIER = np.uint64(0x100000001B3)


def _hash_texts(texts: Sequence[str]) -> np.ndarray:
    """A stable 64-bit hash of each text (the same in every batch and every process)."""
    if not len(texts):
        return np.empty(0, dtype=np.uint64)
    return pd.util.hash_array(np.asarray(texts, dtype=object))


@dataclass
class TypedColumn:
    """One contract column of a batch, held by distinct text: ``codes`` gives each row's
    distinct text (-1: missing or blank), the other arrays one entry per distinct text."""

    column: Column
    codes: np.ndarray  # int64, per row
    values: pd.Series  # the typed value (missing when invalid), of dtype `dtype`
    raw: np.ndarray  # object: the original text; MASK for the participant id
    err: np.ndarray  # object: the text when invalid (a message for the participant id), or None
    keys: np.ndarray  # object: what duplicates compare (typed value, or the text when invalid)
    dtype: str
    _python: np.ndarray | None = None

    def spread(self, which: str) -> pd.Series:
        """``values``, ``raw`` or ``err`` per row."""
        if which == "values":
            return spread_values(self.values, self.codes, self.dtype)
        return spread_values(pd.Series(getattr(self, which), dtype=object), self.codes, "object")

    def categorical(self, which: str) -> pd.Categorical:
        """``raw`` or ``err`` per row, as a Categorical (cheap to build, to hash and to test)."""
        per_text = getattr(self, which)
        codes, categories = pd.factorize(pd.Series(per_text, dtype=object), use_na_sentinel=True)
        lookup = np.append(codes.astype(np.int64), -1)
        return pd.Categorical.from_codes(lookup[self.codes], categories=pd.Index(categories))

    def python_values(self) -> np.ndarray:
        """Object array of the typed values as plain Python objects (None when missing), one
        per distinct text and a final None (for code -1)."""
        if self._python is not None:
            return self._python
        out = np.empty(len(self.values) + 1, dtype=object)
        if self.dtype == "float64":
            floats = self.values.to_numpy(dtype="float64", na_value=np.nan)
            out[:-1] = [None if v != v else v for v in floats.tolist()]
        elif self.dtype == "Int64":
            out[:-1] = [None if v is pd.NA else int(v) for v in self.values.tolist()]
        else:
            out[:-1] = [None if v is None or v is pd.NA else v for v in self.values.tolist()]
        out[-1] = None
        self._python = out
        return out

    def key_hashes(self) -> np.ndarray:
        """64-bit hash of each row's duplicate key (stable across batches)."""
        per_text = _hash_texts([str(k) for k in self.keys])
        return np.append(per_text, _MISSING_HASH)[self.codes]

    def value_hashes(self) -> np.ndarray:
        """64-bit hash of each row's typed value, missing (or invalid) values alike."""
        missing = pd.isna(self.values).to_numpy(dtype=bool)
        texts = ["" if m else str(v) for v, m in zip(self.values.tolist(), missing, strict=True)]
        per_text = _hash_texts(texts)
        per_text[missing] = _MISSING_HASH
        return np.append(per_text, _MISSING_HASH)[self.codes]


def combine_hashes(parts: Sequence[np.ndarray], n_rows: int) -> np.ndarray:
    """One 64-bit hash per row from several per-row hashes (order matters)."""
    combined = np.full(n_rows, 0xCBF29CE484222325, dtype=np.uint64)
    for part in parts:
        combined = (combined ^ part) * _HASH_MULTIPLIER
    return combined


class DuplicateTracker:
    """The rows of the earlier batches of one table, as 64-bit hashes: duplicates are found
    across batches in 8 bytes a row (two different rows collide with probability ~2^-64)."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []  # sorted, distinct hashes

    def seen(self, hashes: np.ndarray) -> np.ndarray:
        """Whether each hash was added before."""
        found = np.zeros(len(hashes), dtype=bool)
        for run in self._runs:
            if not len(run):
                continue
            position = np.minimum(np.searchsorted(run, hashes), len(run) - 1)
            found |= run[position] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        self._runs.append(np.unique(hashes))
        if len(self._runs) > 8:  # merged now and then: lookups stay a few binary searches
            self._runs = [np.unique(np.concatenate(self._runs))]


def _typed_column(
    column: Column, values: Text | None, n_rows: int, pseudonym_key: bytes
) -> TypedColumn:
    """The typed column of ``values`` (raw text per row, None when the file lacks it)."""
    if values is None:
        codes = np.full(n_rows, -1, dtype=np.int64)
        distinct = pd.Series([], dtype=object)
    else:
        codes, distinct = distinct_text(values)
    if column.type is ColType.PARTICIPANT:
        hashed = pseudonymize(distinct, pseudonym_key)
        limit = column.max_length
        too_long = np.zeros(len(distinct), dtype=bool)
        if limit is not None and len(distinct):
            too_long = (distinct.str.len() > limit).to_numpy(dtype=bool)
        message = f"identifiant de plus de {limit} caractères"
        return TypedColumn(
            column=column,
            codes=codes,
            values=hashed.where(~too_long, None).astype(object),
            raw=np.full(len(distinct), MASK, dtype=object),
            err=np.array([message if t else None for t in too_long], dtype=object),
            keys=hashed.to_numpy(dtype=object),
            dtype="object",
        )
    parse, dtype = parser_for(column)
    value_d = parse(distinct) if len(distinct) else pd.Series([], dtype=dtype)
    invalid = value_d.isna().to_numpy(dtype=bool)
    raw_d = distinct.to_numpy(dtype=object)
    # Valid values compare by typed value; invalid ones by their text.
    keys = value_d.astype(object).to_numpy(dtype=object, copy=True)
    keys[invalid] = ["\x00" + t for t in raw_d[invalid]]
    return TypedColumn(
        column=column,
        codes=codes,
        values=value_d,
        raw=raw_d,
        err=np.asarray(np.where(invalid, raw_d, None), dtype=object),
        keys=keys,
        dtype=dtype,
    )


@dataclass
class NormalizedBatch:
    """A batch of rows of one kind, typed (see `normalize_batch`)."""

    kind: Kind
    rows: np.ndarray  # int64: line or row in the original file
    files: np.ndarray  # int64: which file of the batch each row comes from (0 when one file)
    columns: dict[str, TypedColumn]
    duplicate: np.ndarray  # bool: equal to an earlier row of the same file
    date_month: np.ndarray | None  # object: "AAAA-MM" of the date (Contacts, Partenariats)
    regions: np.ndarray | None  # object: the folder each row's file was found in
    has_files: bool = False
    _value_hashes: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self) -> pd.DataFrame:
        """Every column, as `normalize` documents it."""
        out: dict[str, pd.Series] = {ROW_COLUMN: pd.Series(self.rows, dtype="int64")}
        for name, typed in self.columns.items():
            out[name] = typed.spread("values")
            out[name + RAW_SUFFIX] = typed.spread("raw")
            out[name + ERR_SUFFIX] = typed.spread("err")
        if self.has_files:
            out[FILE_COLUMN] = pd.Series(self.files, dtype="int64")
        if self.date_month is not None:
            out[DATE_MONTH_COLUMN] = pd.Series(self.date_month, dtype=object)
        out[DUPLICATE_COLUMN] = pd.Series(self.duplicate, dtype=bool)
        if self.regions is not None:
            out[FOLDER_REGION_COLUMN] = pd.Series(self.regions, dtype=object)
        return pd.DataFrame(out)

    def validation_frame(self, needed: set[str]) -> pd.DataFrame:
        """The ``needed`` columns, built for a fast validation: original texts and errors as
        Categoricals, whole numbers as float64 (GX tests ranges of numpy floats vectorised,
        those of nullable integers one value at a time); always ``_file`` and ``_row``."""
        out: dict[str, Any] = {
            FILE_COLUMN: pd.Series(self.files, dtype="int64"),
            ROW_COLUMN: pd.Series(self.rows, dtype="int64"),
        }
        for name, typed in self.columns.items():
            if name in needed:
                values = typed.spread("values")
                out[name] = values.astype("float64") if typed.dtype == "Int64" else values
            for suffix, which in ((RAW_SUFFIX, "raw"), (ERR_SUFFIX, "err")):
                if name + suffix in needed:
                    out[name + suffix] = typed.categorical(which)
        if DUPLICATE_COLUMN in needed:
            out[DUPLICATE_COLUMN] = pd.Series(self.duplicate, dtype=bool)
        if DATE_MONTH_COLUMN in needed and self.date_month is not None:
            out[DATE_MONTH_COLUMN] = pd.Series(self.date_month, dtype=object)
        if FOLDER_REGION_COLUMN in needed and self.regions is not None:
            out[FOLDER_REGION_COLUMN] = pd.Series(self.regions, dtype=object)
        return pd.DataFrame(out)

    def value_hashes(self, names: Sequence[str]) -> np.ndarray:
        """64-bit hash per row of the typed values of ``names`` (missing or invalid alike)."""
        parts = []
        for name in names:
            if name not in self._value_hashes:
                self._value_hashes[name] = self.columns[name].value_hashes()
            parts.append(self._value_hashes[name])
        return combine_hashes(parts, len(self))


def normalize_batch(
    kind: Kind,
    columns: Mapping[str, Text],
    rows: np.ndarray,
    *,
    pseudonym_key: bytes,
    files: np.ndarray | None = None,
    regions: str | Sequence[str] | None = None,
    duplicates: DuplicateTracker | None = None,
) -> NormalizedBatch:
    """Type the contract columns of a batch of rows of ``kind`` (contract §2-3).

    ``columns`` maps contract column names to raw text per row (absent columns are missing in
    every row); ``rows`` gives each row's line in its file. ``files`` tells the files of the
    batch apart (duplicates are rows equal to an earlier row of the same file) and ``regions``
    gives the folder of each file (a region code, or one per file). With ``duplicates``, the
    batch is one of several of a single file: a row equal to one of an earlier batch is a
    duplicate too, and the batch's rows are added to the tracker.
    """
    if not pseudonym_key:
        raise ValueError("clé de pseudonymisation vide : configurez une clé secrète")
    for region in [regions] if isinstance(regions, str) else list(regions or []):
        if region not in REGIONS:
            raise ValueError(f"code région inconnu : {region!r} (un des 18 codes INSEE attendu)")
    spec = KINDS[kind]
    n_rows = len(rows)
    has_files = files is not None
    file_codes = (
        np.zeros(n_rows, dtype=np.int64) if files is None else np.asarray(files, dtype=np.int64)
    )
    typed = {
        column.name: _typed_column(column, columns.get(column.name), n_rows, pseudonym_key)
        for column in spec.columns
    }
    # Duplicates: equal in every contract column once normalised, within one file.
    keys = []
    for column in typed.values():
        key_codes = pd.factorize(pd.Series(column.keys, dtype=object), use_na_sentinel=True)[0]
        keys.append(np.append(np.asarray(key_codes, dtype=np.int64), -1)[column.codes])
    if n_rows:
        matrix = pd.DataFrame(np.column_stack([*keys, file_codes]))
        duplicate = np.array(matrix.duplicated(keep="first"), dtype=bool)
    else:
        duplicate = np.zeros(0, dtype=bool)
    if duplicates is not None and n_rows:
        hashes = combine_hashes([c.key_hashes() for c in typed.values()], n_rows)
        duplicate |= duplicates.seen(hashes)
        duplicates.add(hashes)
    date_month = None
    date_column = _DATE_OF_MONTH.get(kind)
    if date_column is not None:
        dates = typed[date_column]
        months = np.empty(len(dates.values) + 1, dtype=object)
        months[:-1] = month_of(dates.values).to_numpy(dtype=object)
        date_month = months[dates.codes]
    region_rows = None
    if isinstance(regions, str):
        region_rows = np.full(n_rows, regions, dtype=object)
    elif regions is not None:
        region_rows = np.asarray(list(regions), dtype=object)[file_codes]
    batch = NormalizedBatch(
        kind=kind,
        rows=np.asarray(rows, dtype=np.int64),
        files=file_codes,
        columns=typed,
        duplicate=duplicate,
        date_month=date_month,
        regions=region_rows,
        has_files=has_files,
    )
    if log.isEnabledFor(logging.DEBUG):
        invalid = sum(int(np.append(pd.notna(c.err), False)[c.codes].sum()) for c in typed.values())
        log.debug(
            "normalized %s: %d rows, %d invalid values, %d duplicates",
            kind.value,
            n_rows,
            invalid,
            int(duplicate.sum()),
        )
    return batch


def normalize(
    table: SheetTable, *, pseudonym_key: bytes, region: str | None = None
) -> pd.DataFrame:
    """Type every contract column of ``table`` (contract §2-3).

    The result has a RangeIndex, the column ``_row`` (int64), and for every contract column of
    the kind, in contract order, whether present in the file or not:
    - ``<name>``: the typed value (see ColType; missing or invalid: None / NaN / <NA>);
    - ``<name>__raw``: the original text, None when empty; for the participant id, "***"
      when present (the id itself is never copied);
    - ``<name>__err``: the original text when present but not valid for its type, enumeration
      or format, else None; for the participant id, a French message, never the id.
    Then derived columns: ``_date_mois`` ("AAAA-MM" of the date, Contacts and Partenariats);
    ``_duplicate`` (bool: the row equals an earlier row in every contract column, comparing
    typed values, and original texts where invalid; missing values equal each other);
    ``_region`` (the ``region`` given, when given: the folder the file was found in).
    When the table holds a ``_file`` column (the rows of several files), it is kept, and rows
    are duplicates only within the same ``_file``.
    Ranges, required values and cross-column rules are not checked here.
    """
    if region is not None and region not in REGIONS:
        raise ValueError(f"code région inconnu : {region!r} (un des 18 codes INSEE attendu)")
    source = table.frame.reset_index(drop=True)
    columns = {c.name: source[c.name] for c in KINDS[table.kind].columns if c.name in source}
    files = source[FILE_COLUMN].to_numpy(dtype=np.int64) if FILE_COLUMN in source else None
    batch = normalize_batch(
        table.kind,
        columns,
        source[ROW_COLUMN].to_numpy(dtype=np.int64),
        pseudonym_key=pseudonym_key,
        files=files,
        regions=region,
    )
    return batch.frame()
