"""Reading contract files (CSV, XLSX) into text, one table per kind (contract §2-3).

`open_file` is the only reader of landed files, and it reads them in batches of rows, never
whole: a CSV in record-aligned slices of its bytes parsed by pyarrow, a workbook sheet by sheet,
a big sheet in slices of its XML parsed by calamine. It guarantees that what it returns holds
text only (typing is `clauses.check.normalize`'s job), that the values of personal-data columns are
never part of its result, and that a file it cannot read safely is refused with a French reason
a facilitator can act on. `read_file` gathers a whole file, for tests and small tools.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import html
import io
import logging
import math
import posixpath
import re
import zipfile
import zlib
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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

# Sizes of the pieces a file is read in. They bound memory, whatever the size of the file.
CSV_BLOCK_BYTES = 8 << 20  # a CSV is parsed in record-aligned slices of about this size
CAREFUL_ROWS = 50_000  # records per batch of the careful (Python csv) reader
XLSX_SLICE_BYTES = 8 << 20  # sheet XML handed to calamine at once, in the sliced mode
XLSX_SLICE_CELLS = 2_000_000  # calamine allocates rows x columns cells for a slice: at most this
XLSX_WHOLE_SHEET_BYTES = 16 << 20  # a sheet whose XML is at most this is read by calamine at once
XLSX_WHOLE_CELLS = 4_000_000  # ... when its rows x columns bound is at most this

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


def _french_integer(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")


def line_too_long(line: int) -> FileRefused:
    """A CSV line beyond MAX_LINE_BYTES."""
    return FileRefused(
        f"Le fichier n'a pas pu être lu : la ligne {line} fait plus de "
        f"{_french_integer(MAX_LINE_BYTES)} octets (1 Mio), la limite d'une ligne. Une ligne "
        "d'export fait quelques centaines d'octets : vérifiez que chaque enregistrement finit "
        "par un retour à la ligne et que les guillemets sont refermés, puis exportez à nouveau."
    )


def field_too_long(line: int, column: str | None) -> FileRefused:
    """A value (or a header) beyond MAX_FIELD_CHARS."""
    where = f"ligne {line}" + (f", colonne « {column[:80]} »" if column else "")
    return FileRefused(
        f"Le fichier n'a pas pu être lu : une valeur ({where}) fait plus de "
        f"{_french_integer(MAX_FIELD_CHARS)} caractères, la limite d'une cellule de tableur. "
        "Vérifiez les guillemets de cette ligne (un guillemet non refermé réunit des lignes "
        "entières en une seule valeur) ou raccourcissez la valeur."
    )


def too_many_columns(line: int, count: int) -> FileRefused:
    """A header row beyond MAX_COLUMNS."""
    return FileRefused(
        f"Le fichier n'a pas pu être lu : sa ligne d'en-tête (ligne {line}) compte "
        f"{_french_integer(count)} colonnes, plus que la limite de "
        f"{_french_integer(MAX_COLUMNS)} colonnes d'une feuille de tableur. Ne gardez que les "
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
        if not len(values):
            continue
        longest = pc.max(pc.binary_length(values)).as_py()
        if longest is None or longest <= MAX_FIELD_CHARS:
            continue
        lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
        over = np.flatnonzero(np.nan_to_num(lengths.astype(float)) > MAX_FIELD_CHARS)
        if len(over):
            raise field_too_long(int(rows[over[0]]), headers.get(name, name))


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

_KIND_KEYS: dict[Kind, dict[str, Column]] = {
    kind: {header_key(c.header): c for c in spec.columns} for kind, spec in KINDS.items()
}
_SIGNATURE_KEYS: dict[Kind, tuple[str, ...]] = {
    kind: tuple(header_key(h) for h in spec.signature) for kind, spec in KINDS.items()
}
_ALL_KNOWN_KEYS: frozenset[str] = frozenset(k for keys in _KIND_KEYS.values() for k in keys)
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
        score = (len(signature), len(present & _KIND_KEYS[kind].keys()), -order)
        if best is None or score > best[0]:
            best = (score, kind)
    return best[1] if best else None


def _sheet_name_kind(name: str) -> Kind | None:
    return SHEET_KINDS.get(fold(name))


@dataclass
class _ColumnPlan:
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


def _plan_columns(headers: Sequence[str | None], spec: KindSpec) -> _ColumnPlan:
    keys = _KIND_KEYS[spec.kind]
    plan = _ColumnPlan({}, set(), {}, [], [], [], len(headers))
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

_EMPTY = pa.array([], type=pa.string())


def _filled(arrays: Sequence[pa.Array], n_rows: int) -> np.ndarray:
    """Whether each row holds something else than spaces in at least one of ``arrays``."""
    if not arrays:
        return np.zeros(n_rows, dtype=bool)
    joined = pc.binary_join_element_wise(*arrays, "", null_handling="replace", null_replacement="")
    length = pc.binary_length(pc.utf8_trim_whitespace(joined))
    return np.asarray(pc.greater(length, 0).to_numpy(zero_copy_only=False), dtype=bool)


def _clean(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
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


def _stripped(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class _Unnamed:
    """Columns without a header are reported when one of the rows read holds data in them."""

    def __init__(self) -> None:
        self.with_data: set[int] = set()

    def check(self, arrays: dict[int, pa.Array]) -> None:
        for position, values in arrays.items():
            if position not in self.with_data and _filled([values], len(values)).any():
                self.with_data.add(position)

    def columns(self, plan: _ColumnPlan) -> list[str]:
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

    def __init__(self, kind: Kind, sheet: str | None, plan: _ColumnPlan) -> None:
        self.kind = kind
        self.sheet = sheet
        self._plan = plan
        self._unnamed = _Unnamed()
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


def open_file(path: Path, *, max_ratio: float = 100, max_uncompressed: int = 1 << 30) -> OpenedFile:
    """Open a landed CSV or XLSX file: check it, recognise its kinds, plan its columns.

    Guarantees:
    - the result holds at least one table; batches hold text only;
    - personal-data columns are listed by header in ``personal_columns``, their values are in
      no batch and no returned object;
    - an XLSX is checked against ``max_ratio`` and ``max_uncompressed`` from its zip directory
      and by measuring its real decompressed size, before any part of it is parsed;
    - a CSV's encoding is decided on all its bytes (one encoding per file).

    Raises FileRefused (with a French reason) when the extension is not .csv/.xlsx, the bytes
    are not what the extension says, the file is empty, the workbook is a decompression bomb,
    or no kind is recognised. Reading batches may raise FileRefused too (a CSV whose quotes
    are broken further down, a workbook part calamine cannot parse).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        shown = path.suffix or "(aucune)"
        raise FileRefused(
            f"Extension « {shown} » non acceptée : seuls les fichiers .csv et .xlsx sont lus. "
            "Enregistrez le fichier au format CSV ou Excel (.xlsx) puis déposez-le à nouveau."
        )
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(
            "Le fichier est vide (0 octet) : déposez un fichier contenant des données."
        )
    if suffix == ".csv":
        return _open_csv(path, size)
    return _open_xlsx(path, size, max_ratio=max_ratio, max_uncompressed=max_uncompressed)


def read_file(path: Path, *, max_ratio: float = 100, max_uncompressed: int = 1 << 30) -> ReadResult:
    """Read a whole file into text tables (see `open_file`; for tests and small files)."""
    opened = open_file(path, max_ratio=max_ratio, max_uncompressed=max_uncompressed)
    tables = []
    for table in opened.tables:
        batches = list(table.batches())
        tables.append(
            SheetTable(
                kind=table.kind,
                sheet=table.sheet,
                frame=table_frame(table, batches),
                unknown_columns=table.unknown_columns,
                personal_columns=table.personal_columns,
                missing_columns=table.missing_columns,
            )
        )
    return ReadResult(tables, opened.ignored_sheets, opened.encoding, opened.separator)


def table_frame(table: TableReader, batches: Sequence[TextBatch]) -> pd.DataFrame:
    """The batches of one table as one frame of stripped text (see SheetTable.frame)."""
    rows = np.concatenate([b.rows for b in batches]) if batches else np.empty(0, np.int64)
    data: dict[str, Any] = {ROW_COLUMN: pd.Series(rows, dtype="int64")}
    for name in table.columns:
        parts = [b.columns.get(name, pa.nulls(len(b), pa.string())) for b in batches]
        values = pa.concat_arrays(parts) if parts else _EMPTY
        data[name] = pd.Series(_clean(values), dtype=object)
    return pd.DataFrame(data)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

_NO_KIND_CSV = (
    "Aucun type de fichier reconnu : la ligne d'en-tête (première ligne) doit contenir "
    "« ID participant » et « Heures réalisées » (Heures), « Type de clause » (Marchés), "
    "« SIRET acheteur » (Contacts), « Type de partenaire » (Partenariats), « Type de bilan » "
    "(Bilans) ou « ETP conventionnés » (Conventions). Vérifiez aussi que le séparateur est "
    "« ; », « , » ou une tabulation."
)
_NUL_BYTES = (
    "Ce fichier .csv contient des octets nuls : ce n'est pas un fichier texte CSV "
    "(fichier binaire renommé, ou texte en UTF-16). Exportez-le au format « CSV UTF-8 » "
    "ou « CSV (séparateur : point-virgule) »."
)
_NO_DATA = "Le fichier ne contient aucune donnée (seulement des espaces ou des lignes vides)."

# What ends the header record: a line break outside quotes (quoted fields may hold separators
# and line breaks). Found by a scan, not a repeated regex group, whose backtracking state grows
# with the line: a single line of 8 Mio cost such a regex 1 Gio.
_HEADER_STOPS = re.compile(r'["\r\n]')
_QUOTED = re.compile(r'"[^"]*"')
# Bytes that Windows-1252 leaves undefined: a file holding one is in neither encoding.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_BOM = b"\xef\xbb\xbf"
# Each byte's class for finding UTF-8 multi-byte sequences fast: "L" a lead byte, "C" a
# continuation byte, "." any other byte.
_BYTE_CLASSES = bytes(
    ord("L") if 0xC2 <= b <= 0xF4 else ord("C") if 0x80 <= b <= 0xBF else ord(".")
    for b in range(256)
)
_LINE_BREAK = re.compile(rb"[\r\n]")
# What a line of French text written in UTF-8 holds beyond ASCII: the letters and signs of
# Latin-1 and the others of Windows-1252, general punctuation (’ « … and the narrow no-break
# space among them) and €. Windows-1252 bytes that happen to decode as UTF-8 mostly give other
# characters (C9 A0, "É" then a no-break space, is U+0260): such a line is not taken for UTF-8.
_FRENCH_TEXT = re.compile(
    "[\x00-\x7f\u00a0-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2000-\u206f\u20ac\u2122]*"
)


def _undecodable(position: int) -> FileRefused:
    return FileRefused(
        "Encodage du fichier non reconnu : il n'est ni en UTF-8 ni en Windows-1252 "
        f"(octet illisible à la position {position}). Enregistrez-le en « CSV UTF-8 »."
    )


def _mixed_encodings(utf8_line: int, other_line: int) -> FileRefused:
    return FileRefused(
        "Le fichier mélange deux encodages (UTF-8 et Windows-1252) : par exemple, la ligne "
        f"{utf8_line} est en UTF-8 et la ligne {other_line} en Windows-1252, et un fichier CSV "
        "n'a qu'un encodage. Enregistrez-le en « CSV UTF-8 » puis déposez-le à nouveau."
    )


def _csv_encoding(handle: IO[bytes], first: bytes) -> str:
    """The encoding of the whole file: "utf-8-sig" (BOM), "utf-8" or "cp1252", read by blocks.

    Checks on the way that no byte is NUL (UTF-16 text, binary files).
    """
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok, cp1252_error = True, -1
    offset, block = 0, first
    while block:
        if b"\x00" in block:
            raise FileRefused(_NUL_BYTES)
        if utf8_ok:
            try:
                utf8.decode(block, final=False)
            except UnicodeDecodeError:
                utf8_ok = False
        if cp1252_error < 0:
            match = _CP1252_UNDEFINED.search(block)
            if match:
                cp1252_error = offset + match.start()
        offset += len(block)
        block = handle.read(CSV_BLOCK_BYTES)
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if utf8_ok:
        return "utf-8-sig" if first.startswith(_BOM) else "utf-8"
    if cp1252_error >= 0:
        raise _undecodable(cp1252_error)
    mixed = _utf8_and_other_lines(handle, len(_BOM) if first.startswith(_BOM) else 0)
    if mixed is not None:
        raise _mixed_encodings(*mixed)
    return "cp1252"


def _line_breaks(data: bytes, end: int) -> int:
    """Line breaks (CR LF, LF or CR) in ``data[:end]``."""
    return data.count(b"\n", 0, end) + data.count(b"\r", 0, end) - data.count(b"\r\n", 0, end)


def _utf8_line(chunk: bytes) -> int:
    """Where the first line of ``chunk`` (whole lines) that is UTF-8 French text holding a
    multi-byte sequence starts; -1 when none does."""
    classes = chunk.translate(_BYTE_CLASSES)
    at, searched = classes.find(b"LC"), 0
    while at >= 0:
        start = max(chunk.rfind(b"\n", searched, at), chunk.rfind(b"\r", searched, at)) + 1
        found = _LINE_BREAK.search(chunk, at)
        end = found.start() if found else len(chunk)
        try:
            text = chunk[start:end].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if _FRENCH_TEXT.fullmatch(text):
                return start
        searched = end
        at = classes.find(b"LC", end)
    return -1


def _utf8_and_other_lines(handle: IO[bytes], start: int) -> tuple[int, int] | None:
    """A file that is not UTF-8 as a whole: the first line that is UTF-8 text (with accents, a
    multi-byte sequence) and the first line that is not UTF-8, both 1-based; None when no line
    is UTF-8 text: the file is in Windows-1252.

    Lines are judged whole: a Windows-1252 line is taken for UTF-8 only when every one of its
    accented characters happens to be a valid UTF-8 sequence of French text ("Ã©" alone beside
    ASCII), which hardly ever happens outside text that was itself UTF-8 once. The file is read
    again by blocks cut at line breaks; a line longer than MAX_LINE_BYTES refuses the file.
    """
    handle.seek(start)
    carry, lines_before = b"", 0
    utf8_line: int | None = None
    other_line: int | None = None
    while True:
        block = handle.read(CSV_BLOCK_BYTES)
        data = carry + block
        if not block:
            cut = len(data)
        else:
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            if cut == len(data) and data.endswith(b"\r"):
                cut -= 1  # a CR LF may be split between two blocks: the CR goes with the LF
            if cut <= 0:
                if len(data) > MAX_LINE_BYTES:
                    raise line_too_long(lines_before + 1)
                carry = data
                continue
        chunk, carry = data[:cut], data[cut:]
        if other_line is None:
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as error:
                other_line = lines_before + _line_breaks(chunk, error.start) + 1
        if utf8_line is None and (at := _utf8_line(chunk)) >= 0:
            utf8_line = lines_before + _line_breaks(chunk, at) + 1
        if utf8_line is not None and other_line is not None:
            return utf8_line, other_line
        if not block:
            return None
        lines_before += _line_breaks(chunk, len(chunk))


def _split_header(text: str) -> tuple[str, str, int]:
    """(header record, rest of the text, number of lines the header record spans)."""
    end, quoted = len(text), False
    for stop in _HEADER_STOPS.finditer(text):
        if stop.group() == '"':
            quoted = not quoted
        elif not quoted:
            end = stop.start()
            break
    else:
        if quoted:  # an unbalanced quote in the header: fall back to the first physical line
            end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=end)
    header = text[:end]
    rest = text[end:]
    if rest.startswith("\r\n"):
        rest = rest[2:]
    elif rest[:1] in ("\r", "\n"):
        rest = rest[1:]
    lines = 1 + len(re.findall(r"\r\n|\r|\n", header))
    return header, rest, lines


def _parse_header(header: str, separator: str) -> list[str]:
    reader = csv.reader(io.StringIO(header, newline=""), delimiter=separator)
    try:
        return next(reader, [])
    except csv.Error:  # a header longer than the csv module's field limit (128 Kio)
        raise field_too_long(1, None) from None


def _detect_separator(header: str) -> str:
    """The separator that splits the header into the most known headers; ties: the most
    frequent one outside quotes, then `;`, `,`, tab."""
    unquoted = _QUOTED.sub("", header)
    best: tuple[tuple[int, int, int], str] | None = None
    for rank, separator in enumerate(SEPARATORS):
        try:
            split = _parse_header(header, separator)
        except FileRefused:  # a field too long with this separator: another may split it
            split = []
        known = sum(header_key(h) in _ALL_KNOWN_KEYS for h in split)
        score = (known, unquoted.count(separator), -rank)
        if best is None or score > best[0]:
            best = (score, separator)
    assert best is not None
    return best[1]


def _open_csv(path: Path, size: int) -> OpenedFile:
    with path.open("rb") as handle:
        first = handle.read(CSV_BLOCK_BYTES)
        if first.startswith(b"PK\x03\x04"):
            raise FileRefused(
                "Ce fichier .csv est en réalité un classeur Excel (ou une archive zip) : "
                "renommez-le en .xlsx, ou exportez-le depuis Excel au format « CSV UTF-8 »."
            )
        encoding = _csv_encoding(handle, first)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    start = len(_BOM) if encoding == "utf-8-sig" else 0
    text = codecs.getincrementaldecoder(codec)().decode(first[start:], final=False)
    if not text.strip() and size <= CSV_BLOCK_BYTES:
        raise FileRefused(_NO_DATA)
    header_text, rest, header_lines = _split_header(text)
    if len(header_text) > MAX_LINE_BYTES // 4 and len(header_text.encode(codec)) > MAX_LINE_BYTES:
        raise line_too_long(1)
    separator = _detect_separator(header_text)
    headers = [h.strip() for h in _parse_header(header_text, separator)]
    check_header(headers, 1)
    kind = detect_kind(headers)
    if kind is None:
        raise FileRefused(_NO_KIND_CSV)
    plan = _plan_columns(headers, KINDS[kind])
    body_offset = start + len(text[: len(text) - len(rest)].encode(codec))
    data = first[body_offset:] if size <= CSV_BLOCK_BYTES else None
    table = _CsvTable(kind, plan, path, codec, separator, body_offset, header_lines + 1, data)
    whole = data is not None
    if whole:  # small: read now, the file is not opened again
        table.keep_in_memory()
    return OpenedFile(path, [table], [], encoding, separator, whole)


@dataclass
class _Records:
    """The records of a block of CSV bytes that starts at a record boundary."""

    cut: int  # the block's first `cut` bytes hold complete records (0: none yet)
    lines: int  # line breaks in them
    starts: np.ndarray  # line of each non-empty record, counted from the block's first line
    quoted: bool  # whether a quote occurs in them
    longest: int = 0  # bytes of the longest record
    longest_start: int = 0  # its line, counted as ``starts``


_LF, _CR, _QUOTE = 0x0A, 0x0D, 0x22


def _records(block: bytes, separator: int, final: bool) -> _Records | None:
    """Find the records of ``block`` and the line each starts on, with numpy.

    A line break inside quotes belongs to its value. Returns None when quotes are used in a way
    that parsers may read differently (a quote inside an unquoted value, text after a closing
    quote, a quote left open at the end): the careful reader then takes over.
    """
    a = np.frombuffer(block, dtype=np.uint8)
    n = len(a)
    lf = np.flatnonzero(a == _LF)
    cr = np.flatnonzero(a == _CR)
    if len(cr):
        lone = cr[a[np.minimum(cr + 1, n - 1)] != _LF] if n else cr
        lone = lone[(lone + 1 < n) | final]  # a CR ending the block may start a CRLF
        crlf_start = lf - (a[np.maximum(lf - 1, 0)] == _CR) * (lf > 0)
        seq_start = np.concatenate([crlf_start, lone])
        seq_end = np.concatenate([lf + 1, lone + 1])
        order = np.argsort(seq_start, kind="stable")
        seq_start, seq_end = seq_start[order], seq_end[order]
    else:
        seq_start, seq_end = lf, lf + 1
    quotes = np.flatnonzero(a == _QUOTE)
    if len(quotes):
        outside = (np.searchsorted(quotes, seq_start) & 1) == 0
        ends_at, starts_at = seq_end[outside], seq_start[outside]
    else:
        ends_at, starts_at = seq_end, seq_start
    if final:
        cut = n
        record_starts = np.concatenate([[0], ends_at])
        record_ends = np.concatenate([starts_at, [n]])
    elif len(ends_at):
        cut = int(ends_at[-1])
        record_starts = np.concatenate([[0], ends_at[:-1]])
        record_ends = starts_at
    else:
        return _Records(0, 0, np.empty(0, np.int64), bool(len(quotes)))
    quotes = quotes[quotes < cut]
    if len(quotes) and not _quotes_simple(a, quotes, separator, final):
        return None
    non_empty = record_ends > record_starts
    starts = np.searchsorted(seq_end, record_starts[non_empty], side="right").astype(np.int64)
    lines = int(np.searchsorted(seq_end, cut, side="right"))
    lengths = (record_ends - record_starts)[non_empty]
    longest = int(np.argmax(lengths)) if len(lengths) else 0
    return _Records(
        cut,
        lines,
        starts,
        bool(len(quotes)),
        int(lengths[longest]) if len(lengths) else 0,
        int(starts[longest]) if len(lengths) else 0,
    )


def _quotes_simple(a: np.ndarray, quotes: np.ndarray, separator: int, final: bool) -> bool:
    """Whether every quote opens a value, closes it, or doubles a quote inside it."""
    n = len(a)
    new_run = np.ones(len(quotes), dtype=bool)
    new_run[1:] = quotes[1:] != quotes[:-1] + 1
    run_starts = quotes[new_run]
    lengths = np.diff(np.append(np.flatnonzero(new_run), len(quotes)))
    inside_before = ((np.cumsum(lengths) - lengths) & 1).astype(bool)
    inside_after = inside_before ^ (lengths & 1).astype(bool)
    if inside_after[-1] and final:
        return False  # a quoted value left open at the end of the file
    previous = np.where(run_starts > 0, a[np.maximum(run_starts - 1, 0)], _LF)
    run_ends = run_starts + lengths
    following = np.where(run_ends < n, a[np.minimum(run_ends, n - 1)], _LF)

    def delimits(values: np.ndarray) -> np.ndarray:
        return (values == separator) | (values == _LF) | (values == _CR)

    ok = (inside_before | delimits(previous)) & (inside_after | delimits(following))
    return bool(ok.all())


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of a file."""

    def __init__(self, prefix: bytes, rest: IO[bytes] | None) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if len(self._prefix):
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self._rest is None:
            return 0
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _CsvTable(TableReader):
    def __init__(
        self,
        kind: Kind,
        plan: _ColumnPlan,
        path: Path,
        codec: str,
        separator: str,
        body_offset: int,
        first_line: int,
        data: bytes | None,
    ) -> None:
        super().__init__(kind, None, plan)
        self._path = path
        self._codec = codec
        self._separator = separator
        self._body_offset = body_offset
        self._first_line = first_line
        self._data = data  # the body, when the file is small
        self._kept: list[TextBatch] | None = None
        # Personal columns are not even parsed.
        self._keep = [p for p in range(plan.width) if p not in plan.personal]
        self._names = [f"c{i}" for i in range(plan.width)]

    def keep_in_memory(self) -> None:
        self._kept = list(self._read())
        self._data = None

    def batches(self) -> Iterator[TextBatch]:
        if self._kept is not None:
            yield from self._kept
        else:
            yield from self._read()

    def _read(self) -> Iterator[TextBatch]:
        handle: IO[bytes] | None = None
        try:
            if self._data is None:
                handle = self._path.open("rb")
                handle.seek(self._body_offset)
            yield from self._read_from(handle)
        finally:
            if handle is not None:
                handle.close()

    def _read_from(self, handle: IO[bytes] | None) -> Iterator[TextBatch]:
        """Slices of the body that end on a record boundary, each parsed by pyarrow (or, when
        pyarrow and the line count disagree, by Python's csv reader)."""
        separator = ord(self._separator)
        line = self._first_line
        pending = self._data if handle is None else b""
        assert pending is not None
        eof = handle is None
        while True:
            if not eof and len(pending) < CSV_BLOCK_BYTES:
                assert handle is not None
                block = handle.read(CSV_BLOCK_BYTES - len(pending))
                eof = not block
                pending += block
            if not pending:
                return
            found = _records(pending, separator, final=eof)
            if found is not None and found.cut == 0:  # no record ends in what was read
                if len(pending) > MAX_LINE_BYTES:
                    raise line_too_long(line)
                assert handle is not None
                block = handle.read(CSV_BLOCK_BYTES)
                eof = not block
                pending += block
                continue
            if found is not None and found.longest > MAX_LINE_BYTES:
                raise line_too_long(line + found.longest_start)
            if found is None:  # quotes a parser may read otherwise: Python's csv, to the end
                yield from self._careful(_Prefixed(pending, handle), line)
                return
            view = memoryview(pending)
            chunk = view[: found.cut]
            batch = self._fast(chunk, found, line)
            if batch is None:
                batch = self._careful_chunk(bytes(chunk), line)
            del chunk, view
            pending = pending[found.cut :]
            line += found.lines
            # The allocator keeps what a slice's parsing freed: give it back, memory stays flat.
            pa.default_memory_pool().release_unused()
            if len(batch):
                yield batch
            if eof and not pending:
                return

    def _fast(self, chunk: memoryview, found: _Records, line: int) -> TextBatch | None:
        """pyarrow's reading of ``chunk``; None when it does not agree with the records found
        (ragged rows, lines of spaces): the careful reader reads that chunk."""
        if not len(found.starts):
            return TextBatch(np.empty(0, np.int64), {})
        if self._codec == "utf-8":
            source = pa.BufferReader(pa.py_buffer(chunk))
        else:
            source = pa.BufferReader(bytes(chunk).decode(self._codec).encode("utf-8"))
        names = self._names
        try:
            table = pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(
                    column_names=names, use_threads=True, block_size=max(1 << 20, len(chunk) // 2)
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self._separator,
                    quote_char='"',
                    double_quote=True,
                    newlines_in_values=found.quoted,
                    ignore_empty_lines=True,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    include_columns=[names[i] for i in self._keep],
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    check_utf8=False,  # the whole file was checked when opened
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            log.debug("pyarrow could not read a CSV chunk (%s): careful path", type(error).__name__)
            return None
        if table.num_rows != len(found.starts):
            return None
        arrays = {p: table.column(names[p]).combine_chunks() for p in self._keep}
        return self._batch(arrays, found.starts + line)

    def _careful_chunk(self, chunk: bytes, line: int) -> TextBatch:
        batches = list(self._careful(io.BytesIO(chunk), line, limit=None))
        if not batches:
            return TextBatch(np.empty(0, np.int64), {})
        return concat_batches(batches)

    def _careful(
        self, raw: IO[bytes] | io.RawIOBase, first_line: int, limit: int | None = CAREFUL_ROWS
    ) -> Iterator[TextBatch]:
        """Python's csv reader: exact line numbers, ragged rows padded, any quoting."""
        text = io.TextIOWrapper(
            io.BufferedReader(raw) if isinstance(raw, io.RawIOBase) else raw,  # type: ignore[arg-type]
            encoding=self._codec,
            newline="",
        )
        reader = csv.reader(text, delimiter=self._separator)
        records: list[list[str]] = []
        lines: list[int] = []
        consumed = 0
        try:
            for record in reader:
                lines.append(first_line + consumed)
                if sum(map(len, record)) + len(record) > MAX_LINE_BYTES // 4:
                    # Characters are 1 to 4 bytes: only a long record is encoded to be measured.
                    separators = self._separator * (len(record) - 1)
                    if len((separators + "".join(record)).encode(self._codec)) > MAX_LINE_BYTES:
                        raise line_too_long(first_line + consumed)
                consumed = reader.line_num
                records.append(record)
                if limit is not None and len(records) >= limit:
                    yield self._careful_batch(records, lines)
                    records, lines = [], []
        except csv.Error as error:
            if "field limit" in str(error):  # a value beyond 128 Kio, far beyond MAX_FIELD_CHARS
                raise field_too_long(first_line + consumed, None) from None
            raise FileRefused(
                f"CSV illisible à partir de la ligne {first_line + consumed} (guillemets non "
                "refermés ou valeur trop longue) : vérifiez les guillemets de cette ligne."
            ) from None
        if records:
            yield self._careful_batch(records, lines)

    def _careful_batch(self, records: list[list[str]], lines: list[int]) -> TextBatch:
        widest = max((len(r) for r in records), default=0)
        positions = sorted(set(self._keep) | set(range(self._plan.width, widest)))
        arrays = {
            p: pa.array([r[p] if p < len(r) else None for r in records], type=pa.string())
            for p in positions
        }
        return self._batch(arrays, np.asarray(lines, dtype=np.int64))

    def _batch(self, arrays: dict[int, pa.Array], rows: np.ndarray) -> TextBatch:
        """Drop blank rows, note the unnamed columns holding data, keep the contract columns."""
        present = _filled(list(arrays.values()), len(rows))
        if not present.all():
            mask = pa.array(present)
            arrays = {p: values.filter(mask) for p, values in arrays.items()}
            rows = rows[present]
        unnamed = set(self._plan.unnamed)
        self._unnamed.check(
            {p: v for p, v in arrays.items() if p in unnamed or p >= self._plan.width}
        )
        columns = {
            column.name: arrays[p] for p, column in self._plan.contract.items() if p in arrays
        }
        check_values(columns, rows, self._plan.headers)
        return TextBatch(rows, columns)


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


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

_NO_KIND_XLSX = (
    "Aucun onglet reconnu dans ce classeur : nommez chaque onglet de données Heures, Marchés, "
    "Contacts, Partenariats, Bilans ou Conventions, ou vérifiez que sa ligne d'en-tête contient "
    "« ID participant » et « Heures réalisées », « Type de clause », « SIRET acheteur », "
    "« Type de partenaire », « Type de bilan » ou « ETP conventionnés »."
)
_NOT_XLSX = (
    "Ce fichier .xlsx n'est pas un classeur Excel valide (contenu illisible ou fichier d'un "
    "autre format renommé). Ouvrez-le dans Excel et enregistrez-le au format « Classeur Excel "
    "(.xlsx) »."
)
_TOTAL = re.compile(r"^total(?![a-zà-ÿ])", re.IGNORECASE)
_WORKBOOK_PART = re.compile(r"(^|/)workbook\.xml$", re.IGNORECASE)
_SHEET_PART = re.compile(r"worksheets/[^/]+\.xml$", re.IGNORECASE)
_CHUNK = 1 << 20


def _format_size(n: float) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} Gio".replace(".", ",")
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} Mio".replace(".", ",")
    return f"{int(n)} octets"


def _bomb(actual: int, size: int, max_ratio: float, max_uncompressed: int) -> FileRefused:
    return FileRefused(
        f"Classeur refusé par sécurité : son contenu se décompresse en plus de "
        f"{_format_size(actual)}, soit plus de {max_ratio:g} fois sa taille "
        f"({_format_size(size)}) ou plus de {_format_size(max_uncompressed)}. Vérifiez le "
        "classeur (onglets vides très étendus, images) ou envoyez les données en CSV."
    )


@dataclass
class _PartStats:
    """What measuring a sheet part's real size taught about its extent."""

    size: int = 0
    row_tags: int = 0  # an upper bound of its rows
    last_row: int = 0  # the number of its last row, as far as the tags say (0: unknown)
    columns: int = 26  # an upper bound of its columns, from the letters of cell references

    def cells(self) -> int:
        return max(self.last_row, self.row_tags) * self.columns


def _check_zip(
    path: Path, size: int, max_ratio: float, max_uncompressed: int
) -> dict[str, _PartStats]:
    """Refuse what is not an OOXML workbook, and decompression bombs, before any parsing;
    returns what was learnt of the sheets' extent on the way."""
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            "Ce classeur est protégé par un mot de passe ou enregistré dans l'ancien format "
            ".xls : enregistrez-le au format « Classeur Excel (.xlsx) » sans mot de passe."
        )
    if not magic.startswith(b"PK"):
        raise FileRefused(_NOT_XLSX)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileRefused(_NOT_XLSX) from None
    with archive:
        infos = archive.infolist()
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or not any(_WORKBOOK_PART.search(n) for n in names):
        if "word/document.xml" in names:
            raise FileRefused(
                "Ce fichier .xlsx est en réalité un document Word : déposez le "
                "classeur Excel (.xlsx) ou un CSV."
            )
        if "mimetype" in names and "content.xml" in names:
            raise FileRefused(
                "Ce fichier .xlsx est en réalité un classeur OpenDocument (.ods) : "
                "enregistrez-le au format « Classeur Excel (.xlsx) »."
            )
        raise FileRefused(_NOT_XLSX)
    limit = min(max_ratio * size, max_uncompressed)
    declared = sum(info.file_size for info in infos)
    if declared > limit:
        raise _bomb(declared, size, max_ratio, max_uncompressed)
    # The directory may lie about sizes: measure what really inflates, stopping at the limit.
    return _measure_inflated(path, infos, limit, size, max_ratio, max_uncompressed)


_ROW_START = re.compile(rb"<(?:\w+:)?row\b")
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=[\"'](\d+)[\"']")
_WIDE_REFS = ((re.compile(rb' r="[A-Z]{3}\d'), 16384), (re.compile(rb' r="[A-Z]{2}\d'), 702))


def _last_row_number(data: bytes, prefix: bytes | None = None) -> int | None:
    """The number of the last row element starting in ``data`` (None: none, or no number)."""
    if prefix is not None:
        start = data.rfind(b"<" + prefix + b"row")
    else:
        start = -1
        for match in _ROW_START.finditer(data, max(0, len(data) - 65536)):
            start = match.start()
    found = _ROW_NUMBER.match(data, start) if start >= 0 else None
    return int(found.group(1)) if found else None


def _observe(stats: _PartStats, data: bytes) -> None:
    stats.row_tags += data.count(b"<row") + data.count(b":row")
    last = _last_row_number(data)
    if last is not None:
        stats.last_row = max(stats.last_row, last + 1000)  # a row may straddle two blocks
    for pattern, columns in _WIDE_REFS:
        if stats.columns >= columns:
            break
        if pattern.search(data):
            stats.columns = columns


def _measure_inflated(
    path: Path,
    infos: list[zipfile.ZipInfo],
    limit: float,
    size: int,
    max_ratio: float,
    max_uncompressed: int,
) -> dict[str, _PartStats]:
    total = 0
    parts: dict[str, _PartStats] = {}
    with path.open("rb") as handle:
        for info in infos:
            if info.flag_bits & 0x1:
                raise FileRefused(
                    "Ce classeur est chiffré (protégé par un mot de passe) : enregistrez-le "
                    "sans mot de passe au format « Classeur Excel (.xlsx) »."
                )
            stats = parts.setdefault(info.filename, _PartStats())
            sheet = bool(_SHEET_PART.search(info.filename))
            handle.seek(info.header_offset)
            local = handle.read(30)
            if len(local) < 30 or not local.startswith(b"PK\x03\x04"):
                raise FileRefused(_NOT_XLSX)
            skip = int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
            handle.seek(skip, io.SEEK_CUR)
            remaining = info.compress_size
            if info.compress_type == zipfile.ZIP_STORED:
                total += remaining
                stats.size += remaining
                if sheet:
                    stats.last_row, stats.columns = 1 << 31, 16384  # unknown: read by slices
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                while remaining > 0 and not inflater.eof:
                    chunk = handle.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    pending = chunk
                    while pending and not inflater.eof:
                        try:
                            out = inflater.decompress(pending, _CHUNK)
                        except zlib.error:
                            raise FileRefused(_NOT_XLSX) from None
                        total += len(out)
                        stats.size += len(out)
                        if sheet:
                            _observe(stats, out)
                        if total > limit:
                            raise _bomb(total, size, max_ratio, max_uncompressed)
                        pending = inflater.unconsumed_tail
            else:
                raise FileRefused(
                    "Ce classeur utilise un format de compression non pris en charge : "
                    "ouvrez-le dans Excel et enregistrez-le au format « Classeur Excel (.xlsx) »."
                )
            if total > limit:
                raise _bomb(total, size, max_ratio, max_uncompressed)
    return parts


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer():
        return str(int(value))
    # Shortest round-trip digits (as repr), never in scientific notation.
    return np.format_float_positional(value, trim="-")


def cell_text(value: object) -> str | None:
    """The text of a spreadsheet cell value as python-calamine returns it (contract §3).

    Integer-valued numbers without decimal part (a SIRET stored as 12345678901234.0 gives
    "12345678901234"), other numbers with their shortest exact digits ("1234.5"), dates and
    date-times as "AAAA-MM-JJ", durations as a number of hours, booleans as "VRAI"/"FAUX",
    empty cells as None. Text is returned as is (stripping is done afterwards).
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if value is None:
        return None
    if kind is bool:
        return "VRAI" if value else "FAUX"
    if kind is int:
        return str(value)
    if kind is float:
        return _format_float(value)  # type: ignore[arg-type]
    if kind is dt.datetime:
        return value.date().isoformat()  # type: ignore[attr-defined]
    if kind is dt.date:
        return value.isoformat()  # type: ignore[attr-defined]
    if kind is dt.timedelta:
        return _format_float(value.total_seconds() / 3600)  # type: ignore[attr-defined]
    if kind is dt.time:
        return value.isoformat()  # type: ignore[attr-defined]
    return str(value)


def _text_array(values: Sequence[object]) -> pa.Array:
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers, dates...: not all text
        return pa.array([cell_text(v) for v in values], type=pa.string())


@dataclass
class _Slice:
    """Consecutive rows of a sheet as calamine gave them: one text array per column, and the
    rows themselves (for the few cells looked at one by one)."""

    first_row: int  # 0-based row of the first one
    first_column: int  # 0-based column of arrays[0]
    arrays: list[pa.Array]
    rows: list[list[Any]]
    shared: pa.Array | None = None  # the shared strings, when cells name them by index
    _filled: np.ndarray | None = None

    @staticmethod
    def of(rows: list[list[Any]], first_row: int, first_column: int) -> _Slice | None:
        if not rows:
            return None
        arrays = [_text_array(column) for column in zip(*rows, strict=True)]
        return _Slice(first_row, first_column, arrays, rows)

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def end_column(self) -> int:
        return self.first_column + len(self.arrays)

    def filled(self) -> np.ndarray:
        """Whether each row holds something in any column."""
        if self._filled is None:
            self._filled = _filled(self.arrays, self.n_rows)
        return self._filled

    def row_texts(self, index: int) -> list[str]:
        """The stripped texts of one row, from column A ("" for empty cells)."""
        texts = [_stripped(cell_text(v)) for v in self.rows[index]]
        if self.shared is not None:
            texts = [
                _stripped(self.shared[int(t[1:])].as_py()) if t[:1] == _SHARED_MARK else t
                for t in texts
            ]
        return [""] * self.first_column + texts


class _SheetAssembler:
    """Turns the slices of one sheet, in order, into the batches of its table.

    Up to MAX_TITLE_ROWS title rows may stand above the header; blank rows and a final row whose
    first cell starts with "Total" are dropped (the last data row is held back until another
    one shows it was not the last).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.named_kind = _sheet_name_kind(name)
        self.kind: Kind | None = None
        self.plan: _ColumnPlan | None = None
        self.header_row = -1
        self.decided = False
        self._waiting: list[_Slice] = []
        self._filled: list[tuple[_Slice, int]] = []
        self._held: tuple[TextBatch, str | None, set[int]] | None = None
        self.unnamed = _Unnamed()

    def feed(self, piece: _Slice) -> list[TextBatch]:
        if self.decided:
            return self._data(piece)
        self._waiting.append(piece)
        filled = np.flatnonzero(piece.filled())
        self._filled.extend((piece, int(i)) for i in filled[: MAX_TITLE_ROWS + 1])
        if len(self._filled) <= MAX_TITLE_ROWS:
            return []
        return self._decide()

    def finish(self) -> list[TextBatch]:
        out = [] if self.decided else self._decide()
        if self._held is not None:
            batch, first_cell, unnamed = self._held
            self._held = None
            if first_cell is None or not _TOTAL.match(first_cell):
                self.unnamed.with_data |= unnamed
                out.append(batch)
        return out

    def _decide(self) -> list[TextBatch]:
        self.decided = True
        waiting, self._waiting = self._waiting, []
        if not self._filled:
            return []
        known = set(_KIND_KEYS[self.named_kind]) if self.named_kind else _ALL_KNOWN_KEYS
        best, headers = -1, []
        for piece, index in self._filled[: MAX_TITLE_ROWS + 1]:
            texts = piece.row_texts(index)
            score = sum(header_key(h) in known for h in texts if h)
            if score > best:
                best, headers = score, texts
                self.header_row = piece.first_row + index
        self._filled = []
        check_header(headers, self.header_row + 1)
        self.kind = self.named_kind or detect_kind([h for h in headers if h])
        if self.kind is None:
            return []
        self.plan = _plan_columns(headers, KINDS[self.kind])
        return [batch for piece in waiting for batch in self._data(piece)]

    def _data(self, piece: _Slice) -> list[TextBatch]:
        plan = self.plan
        if plan is None:
            return []
        kept = [p for p in range(piece.first_column, piece.end_column) if p not in plan.personal]
        arrays = {p: piece.arrays[p - piece.first_column] for p in kept}
        rows0 = np.arange(piece.first_row, piece.first_row + piece.n_rows, dtype=np.int64)
        present = (
            piece.filled()
            if len(kept) == len(piece.arrays)
            else _filled(list(arrays.values()), piece.n_rows)
        )
        data = (rows0 > self.header_row) & present
        indices = np.flatnonzero(data)
        if not len(indices):
            return []
        mask = pa.array(data)
        columns = {
            column.name: arrays[p].filter(mask)
            for p, column in plan.contract.items()
            if p in arrays
        }
        batch = TextBatch(rows0[indices] + 1, columns)
        check_values(columns, batch.rows, plan.headers)
        unnamed = {
            p: values.filter(mask)
            for p, values in arrays.items()
            if p in plan.unnamed or p >= plan.width
        }
        # The last data row is held back: if no other follows, it may be a "Total" row.
        last = int(indices[-1])
        first_cell = next((t for t in piece.row_texts(last) if t), None)
        last_unnamed = {p for p, values in unnamed.items() if _stripped(values[-1].as_py())}
        out: list[TextBatch] = []
        if self._held is not None:
            held, _, held_unnamed = self._held
            self.unnamed.with_data |= held_unnamed
            out.append(held)
        if len(batch) > 1:
            self.unnamed.check({p: v.slice(0, len(v) - 1) for p, v in unnamed.items()})
            out.append(_slice_batch(batch, 0, len(batch) - 1))
        self._held = (_slice_batch(batch, len(batch) - 1, 1), first_cell, last_unnamed)
        return out


def _slice_batch(batch: TextBatch, offset: int, length: int) -> TextBatch:
    return TextBatch(
        batch.rows[offset : offset + length],
        {name: values.slice(offset, length) for name, values in batch.columns.items()},
    )


class _SheetReader(TableReader):
    """The table of one sheet: its batches come from calamine, whole or by slices."""

    def __init__(self, assembler: _SheetAssembler, slices: Any, kept: list[TextBatch] | None):
        assert assembler.kind is not None and assembler.plan is not None
        super().__init__(assembler.kind, assembler.name, assembler.plan)
        self._unnamed = assembler.unnamed
        self._slices = slices  # () -> iterator of _Slice, when read by slices
        self._kept = kept

    def batches(self) -> Iterator[TextBatch]:
        if self._kept is not None:
            yield from self._kept
            return
        assembler = _SheetAssembler(self.sheet or "")
        assembler.unnamed = self._unnamed
        pieces = self._slices()
        while True:
            try:
                piece = next(pieces, None)
            except FileRefused:
                raise
            except Exception as error:  # calamine's own errors on a corrupt slice
                log.warning("calamine could not read a slice: %s", type(error).__name__)
                raise FileRefused(_NOT_XLSX) from None
            if piece is None:
                break
            yield from assembler.feed(piece)
        yield from assembler.finish()


def _open_xlsx(path: Path, size: int, *, max_ratio: float, max_uncompressed: int) -> OpenedFile:
    parts = _check_zip(path, size, max_ratio, max_uncompressed)
    sheets = [s for name, s in parts.items() if _SHEET_PART.search(name)]
    small = (
        all(s.size <= XLSX_WHOLE_SHEET_BYTES and s.cells() <= XLSX_WHOLE_CELLS for s in sheets)
        and sum(s.size for s in sheets) <= 4 * XLSX_WHOLE_SHEET_BYTES
    )
    try:
        if small:
            tables, ignored = _read_workbook_whole(path)
        else:
            tables, ignored = _open_workbook_sliced(path)
    except FileRefused:
        raise
    except Exception as error:  # calamine raises its own error types for corrupt parts
        log.warning("calamine could not read %s: %s", path.name, type(error).__name__)
        raise FileRefused(_NOT_XLSX) from None
    if not tables:
        raise FileRefused(_NO_KIND_XLSX)
    return OpenedFile(path, tables, ignored, None, None, small)


def _read_workbook_whole(path: Path) -> tuple[list[TableReader], list[str]]:
    """A small workbook: each sheet parsed by calamine at once."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    tables: list[TableReader] = []
    ignored: list[str] = []
    with CalamineWorkbook.from_path(str(path)) as workbook:
        for meta in workbook.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                ignored.append(meta.name)
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            assembler = _SheetAssembler(meta.name)
            batches: list[TextBatch] = []
            if sheet.start is not None:
                first_row, first_column = sheet.start
                piece = _Slice.of(sheet.to_python(skip_empty_area=True), first_row, first_column)
                if piece is not None:
                    batches += assembler.feed(piece)
            batches += assembler.finish()
            if assembler.kind is None:
                ignored.append(meta.name)
            else:
                tables.append(_SheetReader(assembler, None, batches))
    return tables, ignored


# ---- Big workbooks: sheets read by slices of their XML ----------------------------------------

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_MINI_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_MINI_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_RELS_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_MINI_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_RELS_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_MINI_STYLES = f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{_MAIN_NS}"/>'
# Cells of shared strings are handed to calamine as text cells holding a private-use character
# then the string's index: calamine is never given the whole shared-strings table again.
_SHARED_MARK = "\ue000"
_SHARED_MARK_BYTES = _SHARED_MARK.encode("utf-8")
_SHARED_CELL = re.compile(rb"(<(?:\w+:)?c\b[^>]*?)\st\s*=\s*[\"']s[\"']([^>]*)>\s*(<(?:\w+:)?v>)")
_SHARED_TYPE = re.compile(rb"<(?:\w+:)?c\b[^>]*?\st\s*=\s*[\"']s[\"']")
_ENTITY_OR_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
_WORKSHEET_TAG = re.compile(rb"<(?:\w+:)?worksheet\b[^>]*>")


@dataclass
class _WorkbookParts:
    sheets: list[tuple[str, str | None]]  # (name, part of a worksheet, or None)
    shared_strings: str | None
    styles: str | None
    date1904: bool


def _part_path(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, part) of the relationships of ``part``."""
    name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    try:
        root = ElementTree.fromstring(archive.read(name))
    except KeyError:
        return {}
    return {
        rel.get("Id", ""): (rel.get("Type", ""), _part_path(part, rel.get("Target", "")))
        for rel in root.iter(f"{{{_PACKAGE_RELS_NS}}}Relationship")
        if rel.get("TargetMode") != "External"
    }


def _workbook_parts(archive: zipfile.ZipFile) -> _WorkbookParts:
    office = [p for t, p in _relationships(archive, "").values() if t.endswith("/officeDocument")]
    names = archive.namelist()
    workbook = office[0] if office else next(n for n in names if _WORKBOOK_PART.search(n))
    root = ElementTree.fromstring(archive.read(workbook))
    rels = _relationships(archive, workbook)
    sheets: list[tuple[str, str | None]] = []
    for sheet in root.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        kind, part = rels.get(sheet.get(f"{{{_REL_NS}}}id", ""), ("", ""))
        sheets.append((sheet.get("name", ""), part if kind.endswith("/worksheet") else None))
    pr = next((e for e in root.iter() if e.tag.endswith("}workbookPr")), None)
    date1904 = pr is not None and pr.get("date1904", "").lower() in ("1", "true")
    shared = next((p for t, p in rels.values() if t.endswith("/sharedStrings")), None)
    styles = next((p for t, p in rels.values() if t.endswith("/styles")), None)
    return _WorkbookParts(sheets, shared, styles, date1904)


def _unescape(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _ENTITY_OR_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


_SI = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
_T = re.compile(rb"<(?:\w+:)?t\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?t>)", re.S)
_PHONETIC = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)


def _shared_strings(archive: zipfile.ZipFile, part: str | None) -> pa.Array:
    """The shared strings of a workbook, as calamine reads them (runs joined, phonetic hints
    left out, entities and _xHHHH_ escapes decoded), read by blocks."""
    if part is None or part not in archive.NameToInfo:
        return _EMPTY
    strings: list[str] = []
    chunks: list[pa.Array] = []
    with archive.open(part) as xml:
        pending = b""
        while True:
            block = xml.read(_CHUNK * 4)
            pending += block
            consumed = 0
            for match in _SI.finditer(pending):
                inner = match.group(1) or b""
                if inner.startswith(b"<t>") and inner.count(b"<") == 2:
                    text = inner[3:-4].decode("utf-8")
                else:
                    inner = _PHONETIC.sub(b"", inner)
                    text = "".join((t.group(1) or b"").decode("utf-8") for t in _T.finditer(inner))
                strings.append(_unescape(text))
                consumed = match.end()
            pending = pending[consumed:]
            if len(strings) >= 100_000:
                chunks.append(pa.array(strings, type=pa.string()))
                strings = []
            if not block:
                break
    chunks.append(pa.array(strings, type=pa.string()))
    return pa.concat_arrays(chunks)


def _resolve_shared(values: pa.Array, shared: pa.Array) -> pa.Array:
    """Replace the marked cells of a slice by their shared string."""
    marked = pc.starts_with(values, _SHARED_MARK)
    if not pc.any(marked).as_py():
        return values
    try:
        indices = pc.cast(pc.utf8_slice_codeunits(values.filter(marked), 1), pa.int64())
    except pa.ArrowInvalid:
        raise FileRefused(_NOT_XLSX) from None
    if pc.min(indices).as_py() < 0 or pc.max(indices).as_py() >= len(shared):
        raise FileRefused(_NOT_XLSX)  # an index out of the shared strings table
    return pc.replace_with_mask(values, marked, shared.take(indices))


class _SlicedSheet:
    """The XML of one worksheet, read by blocks and handed to calamine by slices of rows, each
    wrapped in a workbook of its own with the original styles (so that dates are typed as in
    the whole workbook). A slice is cut so that calamine's rows x columns grid stays small,
    whatever the gaps between rows or the columns a stray cell sits in."""

    def __init__(
        self, path: Path, parts: _WorkbookParts, part: str, shared: pa.Array, styles: bytes
    ) -> None:
        self._path = path
        self._part = part
        self._shared = shared
        self._styles = styles
        workbook_pr = '<workbookPr date1904="1"/>' if parts.date1904 else ""
        self._workbook = (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN_NS}" '
            f'xmlns:r="{_REL_NS}">{workbook_pr}<sheets><sheet name="S" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'
        )
        self._head = b""
        self._tail = b""
        self._prefix = b""
        self._rows_before = 0  # row elements already read (for rows without a number)

    def __call__(self) -> Generator[_Slice, None, None]:
        with zipfile.ZipFile(self._path) as archive, archive.open(self._part) as xml:
            pending, eof = b"", False
            found = None
            while found is None and not eof:
                block = xml.read(XLSX_SLICE_BYTES)
                eof = not block
                pending += block
                found = _SHEET_DATA.search(pending)
            if found is None:
                return
            worksheet = _WORKSHEET_TAG.search(pending, 0, found.start())
            self._prefix = prefix = found.group(1) or b""
            self._head = (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                + (worksheet.group(0) if worksheet else b"<worksheet>")
                + b"<"
                + prefix
                + b"sheetData>"
            )
            self._tail = b"</" + prefix + b"sheetData></" + prefix + b"worksheet>"
            self._rows_before = 0
            if found.group(2):  # <sheetData/>: no rows
                return
            end_tag = b"</" + prefix + b"sheetData>"
            pending = pending[found.end() :]
            while True:
                stop = pending.find(end_tag)
                if stop >= 0 or eof:
                    yield from self._slices(pending[:stop] if stop >= 0 else pending)
                    return
                if len(pending) >= XLSX_SLICE_BYTES:
                    cut = self._row_end(pending)
                    if cut > 0:
                        yield from self._slices(pending[:cut])
                        pending = pending[cut:]
                        continue
                    if len(pending) > 8 * XLSX_SLICE_BYTES:
                        raise FileRefused(_NOT_XLSX)  # one row of more than 64 Mio
                block = xml.read(XLSX_SLICE_BYTES)
                eof = not block
                pending += block

    def _row_end(self, data: bytes) -> int:
        """The end of the last complete row element of ``data`` (0: none)."""
        closing = data.rfind(b"</" + self._prefix + b"row>")
        end = closing + len(self._prefix) + 6 if closing >= 0 else 0
        opening = data.rfind(b"<" + self._prefix + b"row")
        if opening > closing:
            tag_end = data.find(b">", opening)
            if tag_end > 0 and data[tag_end - 1 : tag_end] == b"/":
                end = tag_end + 1
        return end

    def _first_row_end(self, data: bytes) -> int:
        """The end of the first row element of ``data`` (its length: none ends before)."""
        closing = data.find(b"</" + self._prefix + b"row>")
        end = closing + len(self._prefix) + 6 if closing >= 0 else len(data)
        opening = data.find(b"<" + self._prefix + b"row")
        tag_end = data.find(b">", opening) if opening >= 0 else -1
        if 0 < tag_end < end and data[tag_end - 1 : tag_end] == b"/":
            end = tag_end + 1
        return end

    def _slices(self, rows: bytes) -> Iterator[_Slice]:
        row_tag = b"<" + self._prefix + b"row"
        if not any(marker in rows for marker in (b"<v", b":v>", b"<is", b":is>")):
            self._rows_before += rows.count(row_tag)
            return  # formatted but empty rows: calamine would return nothing
        if not self._small_enough(rows):
            # Split between rows, near the middle (or after the first row), down to one row.
            middle = self._row_end(rows[: len(rows) // 2]) or self._first_row_end(rows)
            if 0 < middle < len(rows.rstrip()):
                yield from self._slices(rows[:middle])
                yield from self._slices(rows[middle:])
                return
        piece = self._calamine(rows)
        self._rows_before += rows.count(row_tag)
        if piece is not None:
            yield piece

    def _small_enough(self, rows: bytes) -> bool:
        """Whether calamine's grid for these rows (rows spanned x columns) stays small."""
        first = _ROW_NUMBER.search(rows)
        last = _last_row_number(rows, self._prefix)
        if first is not None and last is not None:
            span = last - int(first.group(1)) + 1
        else:
            span = rows.count(b"<" + self._prefix + b"row")
        columns = 26
        for pattern, _ in _WIDE_REFS:
            refs = pattern.findall(rows)
            if refs:
                columns = max(_column_index(ref[4:-1]) for ref in refs) + 1
                break
        return span * columns <= XLSX_SLICE_CELLS

    def _calamine(self, rows: bytes) -> _Slice | None:
        from python_calamine import CalamineWorkbook

        value = b"<" + self._prefix + b"v>"
        rows = rows.replace(b' t="s">' + value, b' t="str">' + value + _SHARED_MARK_BYTES)
        if _SHARED_TYPE.search(rows):  # other attribute orders, quotes or spaces
            rows = _SHARED_CELL.sub(
                lambda m: (
                    m.group(1) + b' t="str"' + m.group(2) + b">" + m.group(3) + _SHARED_MARK_BYTES
                ),
                rows,
            )
            if _SHARED_TYPE.search(rows):
                raise FileRefused(_NOT_XLSX)  # a shared string cell without a value
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as package:
            package.writestr("[Content_Types].xml", _MINI_CONTENT_TYPES)
            package.writestr("_rels/.rels", _MINI_ROOT_RELS)
            package.writestr("xl/workbook.xml", self._workbook)
            package.writestr("xl/_rels/workbook.xml.rels", _MINI_WORKBOOK_RELS)
            package.writestr("xl/styles.xml", self._styles)
            package.writestr("xl/worksheets/sheet1.xml", self._head + rows + self._tail)
        buffer.seek(0)
        sheet = CalamineWorkbook.from_filelike(buffer).get_sheet_by_name("S")
        if sheet.start is None:
            return None
        first_row, first_column = sheet.start
        if _ROW_NUMBER.search(rows, 0, 4096) is None:  # rows without numbers: count them
            first_row += self._rows_before
        piece = _Slice.of(sheet.to_python(skip_empty_area=True), first_row, first_column)
        if piece is not None:
            piece.arrays = [_resolve_shared(a, self._shared) for a in piece.arrays]
            piece.shared = self._shared
        return piece


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (letter - 64)
    return index - 1


def _open_workbook_sliced(path: Path) -> tuple[list[TableReader], list[str]]:
    """A big workbook: each sheet's kind is recognised from its first slices, and its rows are
    read by slices when its batches are asked for."""
    with zipfile.ZipFile(path) as archive:
        parts = _workbook_parts(archive)
        shared = _shared_strings(archive, parts.shared_strings)
        styles = (
            archive.read(parts.styles)
            if parts.styles and parts.styles in archive.NameToInfo
            else _MINI_STYLES.encode()
        )
    tables: list[TableReader] = []
    ignored: list[str] = []
    for name, part in parts.sheets:
        if part is None:
            ignored.append(name)
            continue
        slices = _SlicedSheet(path, parts, part, shared, styles)
        assembler = _SheetAssembler(name)
        with contextlib.closing(slices()) as pieces:
            for piece in pieces:
                assembler.feed(piece)
                if assembler.decided:
                    break
        if not assembler.decided:
            assembler.finish()
        if assembler.kind is None:
            ignored.append(name)
        else:
            tables.append(_SheetReader(assembler, slices, None))
    return tables, ignored
