"""Reading contract files (CSV, XLSX) into tables of text, one per kind (contract §2-3).

`read_file` is the only reader of landed files. It guarantees that what it returns holds text
only (typing is `clauses.normalize`'s job), that the values of personal-data columns are never
part of its result, and that a file it cannot read safely is refused with a French reason a
facilitator can act on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from clauses.contract import (
    KIND_ORDER,
    KINDS,
    PERSONAL_DATA_HEADERS,
    SHEET_KINDS,
    Column,
    Kind,
    KindSpec,
    fold,
    header_key,
)

log = logging.getLogger(__name__)

ROW_COLUMN = "_row"
ACCEPTED_SUFFIXES = (".csv", ".xlsx")
SEPARATORS = (";", ",", "\t")
MAX_TITLE_ROWS = 10

_SEPARATOR_NAMES = {";": "« ; »", ",": "« , »", "\t": "tabulation"}


class FileRefused(Exception):
    """The file cannot be read as a contract file; ``reason`` says why, in French."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SheetTable:
    """One table of one kind, as text.

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


def _plan_columns(headers: Sequence[str | None], spec: KindSpec) -> _ColumnPlan:
    keys = _KIND_KEYS[spec.kind]
    plan = _ColumnPlan({}, set(), {}, [], [], [])
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


def _make_table(
    kind: Kind,
    sheet: str | None,
    plan: _ColumnPlan,
    columns: dict[int, np.ndarray],
    row_numbers: np.ndarray,
) -> SheetTable:
    """Assemble a SheetTable from cleaned text columns (object arrays of str/None)."""
    unknown = dict(plan.unknown)
    for position in plan.unnamed:
        values = columns.get(position)
        if values is not None and pd.notna(values).any():
            unknown[position] = f"(colonne n° {position + 1} sans en-tête)"
    data: dict[str, pd.Series] = {ROW_COLUMN: pd.Series(row_numbers, dtype="int64")}
    by_name = {column.name: position for position, column in plan.contract.items()}
    for column in KINDS[kind].columns:
        if column.name in by_name:
            data[column.name] = pd.Series(columns[by_name[column.name]], dtype=object)
    frame = pd.DataFrame(data)
    return SheetTable(
        kind=kind,
        sheet=sheet,
        frame=frame,
        unknown_columns=[unknown[p] for p in sorted(unknown)],
        personal_columns=list(plan.personal_headers),
        missing_columns=list(plan.missing),
    )


def _clean(values: pa.Array | pa.ChunkedArray | list[str | None]) -> np.ndarray:
    """Strip surrounding whitespace (any Unicode space) and turn empty strings into None."""
    array = (
        values
        if isinstance(values, pa.Array | pa.ChunkedArray)
        else pa.array(values, type=pa.string())
    )
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
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


def _non_blank(columns: Sequence[np.ndarray], n_rows: int) -> np.ndarray:
    mask = np.zeros(n_rows, dtype=bool)
    for values in columns:
        mask |= pd.notna(values)
    return mask


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def read_file(path: Path, *, max_ratio: float = 100, max_uncompressed: int = 1 << 30) -> ReadResult:
    """Read a landed CSV or XLSX file into text tables, one per recognised kind.

    Guarantees:
    - the result holds at least one table; every value is a stripped ``str`` or None;
    - personal-data columns are listed by header in ``personal_columns``, their values are in
      no returned object;
    - an XLSX is checked against ``max_ratio`` and ``max_uncompressed`` from its zip directory
      and by measuring its real decompressed size, before any part of it is parsed.

    Raises FileRefused (with a French reason) when the extension is not .csv/.xlsx, the bytes
    are not what the extension says, the file is empty, the workbook is a decompression bomb,
    or no kind is recognised.
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
        result = _read_csv(path)
    else:
        result = _read_xlsx(path, size, max_ratio=max_ratio, max_uncompressed=max_uncompressed)
    log.info(
        "read %s: %s",
        path.name,
        ", ".join(
            f"{t.kind.value}{f' [{t.sheet}]' if t.sheet else ''} {len(t.frame)} rows"
            for t in result.tables
        ),
    )
    for table in result.tables:
        if table.personal_columns:
            log.info(
                "read %s: %d personal-data column(s) dropped",
                path.name,
                len(table.personal_columns),
            )
    return result


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

# The header record: quoted fields may hold separators and line breaks.
_HEADER_RECORD = re.compile(r'(?:"[^"]*"|[^"\r\n])*')
_QUOTED = re.compile(r'"[^"]*"')


def _decode(data: bytes) -> tuple[str, str]:
    try:
        text = data.decode("utf-8-sig")
        return text, ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise FileRefused(
            "Encodage du fichier non reconnu : il n'est ni en UTF-8 ni en Windows-1252 "
            f"(octet illisible à la position {error.start}). Enregistrez-le en « CSV UTF-8 »."
        ) from None


def _split_header(text: str) -> tuple[str, str, int]:
    """(header record, rest of the text, number of lines the header record spans)."""
    match = _HEADER_RECORD.match(text)
    end = match.end() if match else 0
    if end < len(text) and text[end] not in "\r\n":
        # An unbalanced quote in the header: fall back to the first physical line.
        end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=len(text))
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
    return next(reader, [])


def _detect_separator(header: str) -> str:
    """The separator that splits the header into the most known headers; ties: the most
    frequent one outside quotes, then `;`, `,`, tab."""
    unquoted = _QUOTED.sub("", header)
    best: tuple[tuple[int, int, int], str] | None = None
    for rank, separator in enumerate(SEPARATORS):
        known = sum(header_key(h) in _ALL_KNOWN_KEYS for h in _parse_header(header, separator))
        score = (known, unquoted.count(separator), -rank)
        if best is None or score > best[0]:
            best = (score, separator)
    assert best is not None
    return best[1]


def _count_lines(body: bytes) -> int:
    if not body:
        return 0
    return body.count(b"\n") + body.count(b"\r") - body.count(b"\r\n") + 1


def _read_csv_fast(
    body: bytes, width: int, keep: list[int], separator: str
) -> dict[int, np.ndarray] | None:
    """Read with pyarrow; None when the file needs the careful path (ragged rows, blank lines
    or line breaks inside values, where record and line numbers would differ)."""
    if not body:
        return {position: np.empty(0, dtype=object) for position in keep}
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=separator,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                include_columns=[names[i] for i in keep],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        log.debug("pyarrow could not read the CSV (%s): careful path", type(error).__name__)
        return None
    if table.num_rows != _count_lines(body):
        return None
    return {position: _clean(table.column(names[position])) for position in keep}


def _read_csv_careful(
    body: str, width: int, keep: list[int], separator: str, first_line: int
) -> tuple[dict[int, np.ndarray], np.ndarray, int]:
    """Python csv reader: exact line numbers, ragged rows padded. Returns the columns, the
    line number of each record and the widest record."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=separator)
    records: list[list[str]] = []
    lines: list[int] = []
    consumed = 0
    try:
        for record in reader:
            start = first_line + consumed
            consumed = reader.line_num
            records.append(record)
            lines.append(start)
    except csv.Error:
        raise FileRefused(
            f"CSV illisible à partir de la ligne {first_line + consumed} (guillemets non "
            "refermés ou valeur trop longue) : vérifiez les guillemets de cette ligne."
        ) from None
    widest = max((len(r) for r in records), default=0)
    positions = sorted(set(keep) | set(range(width, widest)))
    columns: dict[int, np.ndarray] = {}
    for position in positions:
        columns[position] = _clean([r[position] if position < len(r) else None for r in records])
    return columns, np.asarray(lines, dtype=np.int64), widest


def _read_csv(path: Path) -> ReadResult:
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise FileRefused(
            "Ce fichier .csv est en réalité un classeur Excel (ou une archive zip) : "
            "renommez-le en .xlsx, ou exportez-le depuis Excel au format « CSV UTF-8 »."
        )
    if b"\x00" in data:
        raise FileRefused(
            "Ce fichier .csv contient des octets nuls : ce n'est pas un fichier texte CSV "
            "(fichier binaire renommé, ou texte en UTF-16). Exportez-le au format « CSV UTF-8 » "
            "ou « CSV (séparateur : point-virgule) »."
        )
    text, encoding = _decode(data)
    del data
    if not text.strip():
        raise FileRefused(
            "Le fichier ne contient aucune donnée (seulement des espaces ou des lignes vides)."
        )
    header_text, body_text, header_lines = _split_header(text)
    del text
    separator = _detect_separator(header_text)
    headers = [h.strip() for h in _parse_header(header_text, separator)]
    kind = detect_kind(headers)
    if kind is None:
        raise FileRefused(_NO_KIND_CSV)
    plan = _plan_columns(headers, KINDS[kind])
    # Personal columns are not even parsed on the fast path.
    keep = [p for p in range(len(headers)) if p not in plan.personal]
    first_line = header_lines + 1

    body = body_text.encode("utf-8").rstrip(b"\r\n")
    fast = _read_csv_fast(body, len(headers), keep, separator)
    if fast is not None:
        columns = fast
        n_rows = len(next(iter(columns.values()))) if columns else 0
        lines = np.arange(n_rows, dtype=np.int64) + first_line
    else:
        columns, lines, widest = _read_csv_careful(
            body_text.rstrip("\r\n"), len(headers), keep, separator, first_line
        )
        n_rows = len(lines)
        plan.unnamed.extend(range(len(headers), widest))
    del body, body_text
    present = _non_blank(list(columns.values()), n_rows)
    if not present.all():
        columns = {p: values[present] for p, values in columns.items()}
        lines = lines[present]
    table = _make_table(kind, None, plan, columns, lines)
    return ReadResult([table], [], encoding, separator)


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


def _check_zip(path: Path, size: int, max_ratio: float, max_uncompressed: int) -> None:
    """Refuse what is not an OOXML workbook, and decompression bombs, before any parsing."""
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
    _measure_inflated(path, infos, limit, size, max_ratio, max_uncompressed)


def _measure_inflated(
    path: Path,
    infos: list[zipfile.ZipInfo],
    limit: float,
    size: int,
    max_ratio: float,
    max_uncompressed: int,
) -> None:
    total = 0
    with path.open("rb") as handle:
        for info in infos:
            if info.flag_bits & 0x1:
                raise FileRefused(
                    "Ce classeur est chiffré (protégé par un mot de passe) : enregistrez-le "
                    "sans mot de passe au format « Classeur Excel (.xlsx) »."
                )
            handle.seek(info.header_offset)
            local = handle.read(30)
            if len(local) < 30 or not local.startswith(b"PK\x03\x04"):
                raise FileRefused(_NOT_XLSX)
            skip = int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
            handle.seek(skip, io.SEEK_CUR)
            remaining = info.compress_size
            if info.compress_type == zipfile.ZIP_STORED:
                total += remaining
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


def _column_text(values: Sequence[object]) -> np.ndarray:
    if all(type(v) is str for v in values):
        return _clean(list(values))  # type: ignore[arg-type]
    return _clean([cell_text(v) for v in values])


def _sheet_table(name: str, rows: Sequence[Sequence[object]]) -> SheetTable | None:
    """The table of one sheet, or None when the sheet holds no recognised kind."""
    if not rows:
        return None
    width = max(len(r) for r in rows)
    if any(len(r) != width for r in rows):
        rows = [list(r) + [""] * (width - len(r)) for r in rows]
    columns = [_column_text(col) for col in zip(*rows, strict=True)]
    n_rows = len(rows)
    present = _non_blank(columns, n_rows)
    filled = np.flatnonzero(present)
    if not len(filled):
        return None
    named_kind = _sheet_name_kind(name)
    known = set(_KIND_KEYS[named_kind]) if named_kind else _ALL_KNOWN_KEYS

    def header_at(row: int) -> list[str]:
        return [c[row] if c[row] is not None else "" for c in columns]

    header_row = int(filled[0])
    best = -1
    for row in filled[: MAX_TITLE_ROWS + 1]:
        score = sum(header_key(h) in known for h in header_at(int(row)) if h)
        if score > best:
            best, header_row = score, int(row)
    headers = header_at(header_row)
    kind = named_kind or detect_kind([h for h in headers if h])
    if kind is None:
        return None
    plan = _plan_columns(headers, KINDS[kind])

    data_rows = filled[filled > header_row]
    keep = [p for p in range(width) if p not in plan.personal]
    # Blank means blank in every column we keep, as for CSV.
    kept_present = _non_blank([columns[p][data_rows] for p in keep], len(data_rows))
    data_rows = data_rows[kept_present]
    if len(data_rows):
        last = int(data_rows[-1])
        first_cell = next((c[last] for c in columns if c[last] is not None), None)
        if first_cell is not None and _TOTAL.match(first_cell):
            data_rows = data_rows[:-1]
    table_columns = {p: columns[p][data_rows] for p in keep}
    return _make_table(kind, name, plan, table_columns, data_rows.astype(np.int64) + 1)


def _read_xlsx(path: Path, size: int, *, max_ratio: float, max_uncompressed: int) -> ReadResult:
    _check_zip(path, size, max_ratio, max_uncompressed)
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    tables: list[SheetTable] = []
    ignored: list[str] = []
    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            for meta in workbook.sheets_metadata:
                if meta.typ != SheetTypeEnum.WorkSheet:
                    ignored.append(meta.name)
                    continue
                rows = workbook.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
                table = _sheet_table(meta.name, rows)
                if table is None:
                    ignored.append(meta.name)
                else:
                    tables.append(table)
    except FileRefused:
        raise
    except Exception as error:  # calamine raises its own error types for corrupt parts
        log.warning("calamine could not read %s: %s", path.name, type(error).__name__)
        raise FileRefused(_NOT_XLSX) from None
    if not tables:
        raise FileRefused(_NO_KIND_XLSX)
    return ReadResult(tables, ignored, None, None)
