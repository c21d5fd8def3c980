"""What every reader shares: the text batches it returns, the refusal it raises, the limits
of what a file may hold, and the matching of header rows to the contract's kinds and columns
(contract §2-3)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clauses.contract.french import french_number
from clauses.contract.kinds import (
    KIND_ORDER,
    KINDS,
    PERSONAL_DATA_HEADERS,
    SHEET_KINDS,
    Column,
    Kind,
    KindSpec,
    fold,
)
from clauses.contract.kinds import header_key as _header_key

log = logging.getLogger(__name__)

# Headers repeat from one file to the next: their keys are computed once.
header_key = functools.lru_cache(maxsize=8192)(_header_key)

ROW_COLUMN = "_row"
ACCEPTED_SUFFIXES = (".csv", ".xlsx")
SEPARATORS = (";", ",", "\t")
MAX_TITLE_ROWS = 10

# Limits of what a contract file may hold. Files come from spreadsheets and the tools that export
# them (contract §3): a cell holds at most 32,767 characters and a sheet at most 16,384 columns,
# and a real line of activity is a few hundred bytes. Beyond these limits a file is refused whole,
# the limit named in its report, before it can cost the run its memory or its parsers.
MAX_LINE_BYTES = 1 << 20  # one CSV line (a record, quoted line breaks included), header included
MAX_FIELD_CHARS = 32_767  # one value, or one column header: a spreadsheet cell's limit
MAX_COLUMNS = 16_384  # columns of a header row: a spreadsheet sheet's limit (A to XFD)

_SEPARATOR_NAMES = {";": "« ; »", ",": "« , »", "\t": "tabulation"}


class FileRefused(Exception):
    """The file cannot be read as a contract file; ``reason`` says why, in French."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def line_too_long(line: int) -> FileRefused:
    """A CSV line beyond MAX_LINE_BYTES."""
    return FileRefused(
        f"Le fichier n'a pas pu être lu : la ligne {line} fait plus de "
        f"{french_number(MAX_LINE_BYTES, 0)} octets (1 Mio), la limite d'une ligne. Une ligne "
        "d'export fait quelques centaines d'octets : vérifiez que chaque enregistrement finit "
        "par un retour à la ligne et que les guillemets sont refermés, puis exportez à nouveau."
    )


def field_too_long(line: int, column: str | None) -> FileRefused:
    """A value (or a header) beyond MAX_FIELD_CHARS."""
    where = f"ligne {line}" + (f", colonne « {column[:80]} »" if column else "")
    return FileRefused(
        f"Le fichier n'a pas pu être lu : une valeur ({where}) fait plus de "
        f"{french_number(MAX_FIELD_CHARS, 0)} caractères, la limite d'une cellule de tableur. "
        "Vérifiez les guillemets de cette ligne (un guillemet non refermé réunit des lignes "
        "entières en une seule valeur) ou raccourcissez la valeur."
    )


def too_many_columns(line: int, count: int) -> FileRefused:
    """A header row beyond MAX_COLUMNS."""
    return FileRefused(
        f"Le fichier n'a pas pu être lu : sa ligne d'en-tête (ligne {line}) compte "
        f"{french_number(count, 0)} colonnes, plus que la limite de "
        f"{french_number(MAX_COLUMNS, 0)} colonnes d'une feuille de tableur. Ne gardez que les "
        "colonnes du contrat de données."
    )


def check_header(headers: Sequence[str | None], line: int) -> None:
    """Refuse a header row beyond MAX_COLUMNS, or holding a header beyond MAX_FIELD_CHARS."""
    if len(headers) > MAX_COLUMNS:
        raise too_many_columns(line, len(headers))
    for header in headers:
        if header is not None and len(header) > MAX_FIELD_CHARS:
            raise field_too_long(line, None)


def check_values(
    columns: Mapping[str, pa.Array], rows: np.ndarray, headers: Mapping[str, str]
) -> None:
    """Refuse a batch holding a value beyond MAX_FIELD_CHARS, naming its line and column
    (``headers``: each column's header). Bytes bound characters from above, so the common case
    costs one vectorised length per column."""
    for name, values in columns.items():
        if values.nbytes <= MAX_FIELD_CHARS:  # the whole column is smaller than one value may be
            continue
        longest = pc.max(pc.binary_length(values)).as_py()
        if longest is None or longest <= MAX_FIELD_CHARS:
            continue
        over = pc.indices_nonzero(
            pc.fill_null(pc.greater(pc.utf8_length(values), MAX_FIELD_CHARS), False)
        )
        if len(over):
            raise field_too_long(int(rows[over[0].as_py()]), headers.get(name, name))


@dataclass
class TextBatch:
    """Consecutive data rows of one table, as read.

    ``rows`` holds the 1-based line (CSV) or row (XLSX) of each row in the original file;
    ``columns`` one string array per contract column present in the file, values as read: they
    may be blank or padded with spaces (stripping is `clauses.check.normalize`'s job), null where a
    cell is absent. Blank rows and a final "Total" row (XLSX) are never in a batch.
    """

    rows: np.ndarray
    columns: dict[str, pa.Array]

    def __len__(self) -> int:
        return len(self.rows)

    def __reduce__(self) -> tuple[Any, tuple[np.ndarray, bytes]]:
        """Pickled as one Arrow IPC message (a batch read by a worker process comes back to
        the run that way, `clauses.check.read_ahead`): unpickled about five times faster than
        its arrays one by one, the same values, nulls and column order."""
        if not self.columns:
            return _text_batch, (self.rows, b"")
        record = pa.RecordBatch.from_pydict(self.columns)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, record.schema) as writer:
            writer.write_batch(record)
        return _text_batch, (self.rows, sink.getvalue().to_pybytes())


def _text_batch(rows: np.ndarray, message: bytes) -> TextBatch:
    if not message:
        return TextBatch(rows, {})
    record = pa.ipc.open_stream(pa.py_buffer(message)).read_next_batch()
    return TextBatch(rows, dict(zip(record.schema.names, record.columns, strict=True)))


@dataclass
class SheetTable:
    """One table of one kind, whole, as text (what `read_file` returns).

    ``frame`` has a ``_row`` column (1-based line of the CSV file or row of the sheet) and one
    column per contract column present, named ``Column.name``, of dtype object holding stripped
    ``str`` or None (empty cells). Blank rows and a final "Total" row (XLSX) are not in it.
    """

    kind: Kind
    sheet: str | None
    frame: pd.DataFrame
    unknown_columns: list[str] = field(default_factory=list)
    personal_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]


@dataclass
class ReadResult:
    """Everything read from one file: its tables, the sheets ignored, and how a CSV was decoded."""

    tables: list[SheetTable]
    ignored_sheets: list[str] = field(default_factory=list)
    encoding: str | None = None  # "utf-8", "utf-8-sig" (with BOM) or "cp1252"; None for XLSX
    separator: str | None = None  # ";", "," or "\t"; None for XLSX


# --------------------------------------------------------------------------------------------
# Headers: kinds, contract columns, personal data
# --------------------------------------------------------------------------------------------

KIND_KEYS: dict[Kind, dict[str, Column]] = {
    kind: {header_key(c.header): c for c in spec.columns} for kind, spec in KINDS.items()
}
_SIGNATURE_KEYS: dict[Kind, tuple[str, ...]] = {
    kind: tuple(header_key(h) for h in spec.signature) for kind, spec in KINDS.items()
}
ALL_KNOWN_KEYS: frozenset[str] = frozenset(k for keys in KIND_KEYS.values() for k in keys)
_PERSONAL_KEYS: frozenset[str] = frozenset(header_key(h) for h in PERSONAL_DATA_HEADERS)
_PERSONAL_PREFIXES: tuple[str, ...] = (
    "nom ",
    "prenom",
    "date de naissance",
    "date naissance",
    "adresse",
    "telephone",
    "tel ",
    "courriel",
    "email",
    "e mail",
    "mail ",
    "nir",
    "numero de securite sociale",
)


def is_personal_header(header: str) -> bool:
    """Whether a column header names direct personal identifiers (contract §3).

    True for the headers of ``PERSONAL_DATA_HEADERS`` and for any header whose key starts with
    one of the usual prefixes (``Nom de jeune fille``, ``Adresse 2``, ``Email pro``...).
    """
    key = header_key(header)
    return key in _PERSONAL_KEYS or key.startswith(_PERSONAL_PREFIXES)


def detect_kind(headers: Sequence[str]) -> Kind | None:
    """The kind whose signature columns are all among ``headers`` (compared with header_key).

    When several kinds match, the one with the most signature columns wins (Heures has two),
    then the one with the most of its columns present, then the first in contract order.
    """
    present = {header_key(h) for h in headers}
    best: tuple[tuple[int, int, int], Kind] | None = None
    for order, kind in enumerate(KIND_ORDER):
        signature = _SIGNATURE_KEYS[kind]
        if not all(key in present for key in signature):
            continue
        score = (len(signature), len(present & KIND_KEYS[kind].keys()), -order)
        if best is None or score > best[0]:
            best = (score, kind)
    return best[1] if best else None


def sheet_name_kind(name: str) -> Kind | None:
    return SHEET_KINDS.get(fold(name))


@dataclass
class ColumnPlan:
    """Where each header of a table goes."""

    contract: dict[int, Column]  # position -> contract column (first occurrence)
    personal: set[int]
    unknown: dict[int, str]  # position -> header as reported
    unnamed: list[int]  # positions with an empty header: reported only if they hold data
    personal_headers: list[str]
    missing: list[str]
    width: int = 0  # number of headers; positions beyond hold no header either

    @functools.cached_property
    def headers(self) -> dict[str, str]:
        """The contract header of each contract column kept, by column name."""
        return {column.name: column.header for column in self.contract.values()}


def plan_columns(headers: Sequence[str | None], spec: KindSpec) -> ColumnPlan:
    keys = KIND_KEYS[spec.kind]
    plan = ColumnPlan({}, set(), {}, [], [], [], len(headers))
    seen: set[str] = set()
    for position, raw in enumerate(headers):
        header = (raw or "").strip()
        if not header:
            plan.unnamed.append(position)
            continue
        # Personal data is checked first: whatever else a header may look like, its values
        # must never be kept.
        if is_personal_header(header):
            plan.personal.add(position)
            plan.personal_headers.append(header)
            continue
        column = keys.get(header_key(header))
        if column is None:
            plan.unknown[position] = header
        elif column.name in seen:
            plan.unknown[position] = f"{header} (en double)"
        else:
            seen.add(column.name)
            plan.contract[position] = column
    plan.missing = [c.header for c in spec.columns if c.required and c.name not in seen]
    return plan


# --------------------------------------------------------------------------------------------
# Arrow helpers: text arrays as read, blank tests
# --------------------------------------------------------------------------------------------

EMPTY_TEXT = pa.array([], type=pa.string())


def filled_rows(arrays: Sequence[pa.Array], n_rows: int) -> np.ndarray:
    """Whether each row holds something else than spaces in at least one of ``arrays``."""
    if not arrays:
        return np.zeros(n_rows, dtype=bool)
    joined = pc.binary_join_element_wise(*arrays, "", null_handling="replace", null_replacement="")
    length = pc.binary_length(pc.utf8_trim_whitespace(joined))
    return np.asarray(pc.greater(length, 0).to_numpy(zero_copy_only=False), dtype=bool)


def cleaned(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Strip surrounding whitespace (any Unicode space) and turn empty strings into None."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    trimmed = pc.utf8_trim_whitespace(array)
    trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    # Columns repeat a lot: build one Python str per distinct value and share it between rows.
    encoded = pc.dictionary_encode(trimmed)
    distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
    lookup = np.empty(len(distinct) + 1, dtype=object)
    lookup[:-1] = distinct
    lookup[-1] = None
    indices = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
    return lookup[indices]


def stripped(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class UnnamedColumns:
    """Columns without a header are reported when one of the rows read holds data in them."""

    def __init__(self) -> None:
        self.with_data: set[int] = set()

    def check(self, arrays: dict[int, pa.Array]) -> None:
        for position, values in arrays.items():
            if position not in self.with_data and filled_rows([values], len(values)).any():
                self.with_data.add(position)

    def columns(self, plan: ColumnPlan) -> list[str]:
        unknown = dict(plan.unknown)
        for position in self.with_data:
            unknown[position] = f"(colonne n° {position + 1} sans en-tête)"
        return [unknown[p] for p in sorted(unknown)]


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


class TableReader:
    """One table of a file: its kind, what its header says, and its rows by batches.

    ``batches()`` reads the rows again at each call, in bounded memory; ``unknown_columns`` is
    complete once they have been read (a column without a header is reported when it holds
    data).
    """

    kind: Kind
    sheet: str | None
    personal_columns: list[str]
    missing_columns: list[str]

    def __init__(self, kind: Kind, sheet: str | None, plan: ColumnPlan) -> None:
        self.kind = kind
        self.sheet = sheet
        self._plan = plan
        self._unnamed = UnnamedColumns()
        self.personal_columns = list(plan.personal_headers)
        self.missing_columns = list(plan.missing)

    @property
    def unknown_columns(self) -> list[str]:
        return self._unnamed.columns(self._plan)

    @property
    def columns(self) -> list[str]:
        """The contract columns present in the file (``Column.name``), in contract order."""
        present = {c.name for c in self._plan.contract.values()}
        return [c.name for c in KINDS[self.kind].columns if c.name in present]

    def batches(self) -> Iterator[TextBatch]:
        raise NotImplementedError

    def let_go(self) -> None:
        """Let go of the rows kept in memory (a table read whole, once `examine` took them):
        its batches are then read from the file again."""


@dataclass
class OpenedFile:
    """A file whose kinds are known; its tables are read by batches.

    ``whole`` tells that the file is small enough to have been read at once: its batches are
    in memory (`clauses.load.ingest` groups such files, a few thousand rows each, for validation).
    """

    path: Path
    tables: list[TableReader]
    ignored_sheets: list[str] = field(default_factory=list)
    encoding: str | None = None
    separator: str | None = None
    whole: bool = True


def concat_batches(batches: Sequence[TextBatch]) -> TextBatch:
    """One batch holding the rows of ``batches`` in order (columns absent from some are null)."""
    if len(batches) == 1:
        return batches[0]
    names = list(dict.fromkeys(name for b in batches for name in b.columns))
    columns = {
        name: pa.concat_arrays(
            [b.columns.get(name, pa.nulls(len(b), pa.string())) for b in batches]
        )
        for name in names
    }
    return TextBatch(np.concatenate([b.rows for b in batches]), columns)
