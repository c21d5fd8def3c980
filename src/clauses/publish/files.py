"""Writing an extract folder: one XLSX workbook, one CSV per table and a manifest (contract §7).

An extract is a folder, e.g. ``extracts/<R>/<D>/``, published all or nothing:

- the workbook (xlsxwriter, one sheet per table): bold French headers, frozen header row,
  autofilter, French number and date formats; every text is written as a string cell, so no
  cell can ever be evaluated as a formula;
- one CSV per table: UTF-8 with BOM, ``;`` separator, decimal comma, no thousands separator,
  dates ``AAAA-MM-JJ``, an empty cell for an undefined value, text cells neutralised against
  formula injection;
- ``manifest.json``: each output with its SHA-256 and data row count, plus the caller's keys
  (as-of date, rules version, source files...).

Publication. Everything is built in a hidden sibling folder (``.<name>.tmp-<uuid>``) and then
swapped in. On Linux the swap is a single ``renameat2(RENAME_EXCHANGE)``: a reader of the
target folder sees the previous complete extract or the new one, never anything else. Where the
exchange is not available, the previous folder is renamed aside (``.<name>.old-<uuid>``), the new
one renamed in, then the old one deleted; a crash between those two renames leaves the previous
extract aside, and the next call for the same target puts it back before doing anything else.
Leftover temporary siblings of earlier crashes are removed by the next call. Writers of the same
parent folder are serialised by an advisory lock on that folder, so the cleanup never touches a
concurrent writer's work.

Numbers in both the workbook and the CSV are the same values, rounded half up on their decimal
representation to the precision of their column (2 decimals for amounts and DEC2, 4 for DEC4
and percentages), so the two files of one extract never disagree.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import hashlib
import json
import logging
import math
import numbers
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

import xlsxwriter

try:  # advisory locking; absent on Windows, where writers are not serialised
    import fcntl
except ImportError:  # pragma: no cover - not on the supported platforms
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "MANIFEST_NAME",
    "XLSX_NUMBER_FORMATS",
    "Fmt",
    "Table",
    "format_csv_value",
    "neutralize_formula",
    "write_extract",
]

log = logging.getLogger(__name__)

DIR_MODE = 0o750
FILE_MODE = 0o640
MANIFEST_NAME = "manifest.json"
CSV_DELIMITER = ";"

# Excel keeps the rows of a sheet below this limit, header included.
_XLSX_MAX_ROWS = 1_048_576
_MIN_WIDTH = 8.0
_MAX_WIDTH = 60.0
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_UUID_HEX = re.compile(r"^[0-9a-f]{32}$")


class Fmt(StrEnum):
    """How a column is written, in the workbook and in the CSV."""

    TEXT = "text"
    INT = "int"  # an integer count
    DEC2 = "dec2"  # a number with 2 decimals (hours...)
    DEC4 = "dec4"  # a number with 4 decimals (FTE, fractions, per-FTE values)
    EUR = "eur"  # an amount in euros, 2 decimals
    DATE = "date"
    PERCENT = "percent"  # a fraction (0.85 = 85 %), 4 decimals in the CSV


#: Excel number formats (Excel shows the separators of the user's locale: "1 234,50 €").
XLSX_NUMBER_FORMATS: dict[Fmt, str] = {
    Fmt.INT: "#,##0",
    Fmt.DEC2: "#,##0.00",
    Fmt.DEC4: "0.0000",
    # The euro sign is quoted: a literal that every spreadsheet reads the same way.
    Fmt.EUR: '#,##0.00 "€"',
    Fmt.DATE: "dd/mm/yyyy",
    Fmt.PERCENT: "0.0%",
}

_QUANTUM: dict[Fmt, Decimal] = {
    Fmt.DEC2: Decimal("0.01"),
    Fmt.EUR: Decimal("0.01"),
    Fmt.DEC4: Decimal("0.0001"),
    Fmt.PERCENT: Decimal("0.0001"),
}

# OWASP CSV injection: characters that make a spreadsheet read a cell as a formula.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """One table of an extract: a sheet of the workbook and a CSV file.

    ``rows`` hold Python values: ``str``, ``int``, ``float``, ``decimal.Decimal``,
    ``datetime.date`` or ``None`` (an empty cell: undefined, or not evaluated). A float NaN is
    also written as an empty cell.
    """

    name: str  # file stem of the CSV, e.g. "conventions"
    sheet: str  # sheet title, e.g. "Conventions"
    columns: list[tuple[str, Fmt]]  # French header and format, in order
    rows: list[tuple[Any, ...]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def neutralize_formula(text: str) -> str:
    """Return ``text`` prefixed with ``'`` when a spreadsheet would read it as a formula.

    A text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
    with a single quote (OWASP guidance on CSV injection); any other text is returned unchanged.
    """
    if text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


def _is_missing(value: object) -> bool:
    """None, or a float/Decimal NaN (how pandas spells a missing number)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, Decimal):
        return value.is_nan()
    return False


def _to_decimal(value: object, fmt: Fmt) -> Decimal:
    """A real number as a Decimal of its shortest decimal representation."""
    # Decimal is not a numbers.Real: it is accepted explicitly.
    if isinstance(value, bool) or not isinstance(value, Decimal | numbers.Real):
        raise TypeError(f"{fmt.value} column: expected a number, got {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, numbers.Integral):
        result = Decimal(int(value))
    else:
        # repr() gives the shortest string that round-trips: 2.675 -> "2.675", not
        # 2.67499999999999982236431605997495353221893310546875.
        try:
            result = Decimal(repr(float(value)))
        except InvalidOperation as exc:  # pragma: no cover - repr of a float always parses
            raise ValueError(f"{fmt.value} column: cannot read {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"{fmt.value} column: {value!r} is not a finite number")
    return result


def _rounded(value: object, fmt: Fmt) -> Decimal:
    """The value rounded half up to the precision of ``fmt`` (no negative zero)."""
    quantized = _to_decimal(value, fmt).quantize(_QUANTUM[fmt], rounding=ROUND_HALF_UP)
    return quantized.copy_abs() if quantized.is_zero() else quantized


def _integer(value: object) -> int:
    """An integral value as int; a non-integral one is an error (a count is never 2.5)."""
    number = _to_decimal(value, Fmt.INT)
    if number != number.to_integral_value():
        raise ValueError(f"int column: {value!r} is not an integer")
    return int(number)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"date column: expected a date, got {type(value).__name__}")


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    raise TypeError(f"text column: expected a str, got {type(value).__name__}")


def format_csv_value(value: object, fmt: Fmt) -> str:
    """Format one value for the CSV of an extract (contract §7).

    ``None`` (or NaN) gives an empty cell. TEXT is neutralised against formulas; INT is an
    integer; DEC2 and EUR have exactly 2 decimals, DEC4 and PERCENT (a fraction) exactly 4,
    rounded half up on the decimal representation, with a decimal comma and no thousands
    separator; DATE is ``AAAA-MM-JJ``. Raises TypeError or ValueError for a value that does not
    fit its column.
    """
    if _is_missing(value):
        return ""
    if fmt is Fmt.TEXT:
        return neutralize_formula(_as_text(value))
    if fmt is Fmt.INT:
        return str(_integer(value))
    if fmt is Fmt.DATE:
        return _as_date(value).isoformat()
    return format(_rounded(value, fmt), "f").replace(".", ",")


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _open_new(path: Path) -> int:
    """Create ``path`` (which must not exist) with FILE_MODE; return its descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # whatever the umask
    return fd


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _check_row(table: Table, index: int, row: Sequence[Any]) -> None:
    if len(row) != len(table.columns):
        raise ValueError(
            f"table {table.name!r}, row {index + 1}: {len(row)} values for "
            f"{len(table.columns)} columns"
        )


def _write_csv(path: Path, table: Table) -> None:
    """Write one table as a CSV file of the contract (UTF-8 with BOM, ``;``)."""
    formats = [fmt for _, fmt in table.columns]
    with os.fdopen(_open_new(path), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=CSV_DELIMITER, quoting=csv.QUOTE_MINIMAL)
        writer.writerow([neutralize_formula(header) for header, _ in table.columns])
        for index, row in enumerate(table.rows):
            _check_row(table, index, row)
            try:
                writer.writerow([format_csv_value(v, f) for v, f in zip(row, formats, strict=True)])
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"table {table.name!r}, row {index + 1}: {exc}") from exc
        handle.flush()
        os.fsync(handle.fileno())


def _display_width(value: object, fmt: Fmt) -> int:
    """Rough number of characters Excel shows for a value, to size its column."""
    if _is_missing(value):
        return 0
    if fmt is Fmt.TEXT:
        return len(_as_text(value))
    if fmt is Fmt.DATE:
        return 10
    if fmt is Fmt.PERCENT:
        return len(format(_rounded(value, Fmt.DEC4) * 100, ".1f")) + 2
    text = format_csv_value(value, fmt)
    digits = len(text.split(",")[0].lstrip("-"))
    width = len(text) + (digits - 1) // 3  # thousands separators
    return width + 2 if fmt is Fmt.EUR else width


def _column_widths(table: Table) -> list[float]:
    widths: list[float] = []
    for position, (header, fmt) in enumerate(table.columns):
        longest = len(header) + 3  # room for the autofilter button
        for row in table.rows:
            longest = max(longest, _display_width(row[position], fmt) + 1)
        widths.append(min(max(float(longest), _MIN_WIDTH), _MAX_WIDTH))
    return widths


def _write_workbook(
    path: Path, tables: list[Table], work_dir: Path, created: datetime | None
) -> None:
    """Write every table as a sheet of one workbook; every text is a string cell."""
    with os.fdopen(_open_new(path), "w+b") as handle:
        workbook = xlsxwriter.Workbook(
            handle,
            {
                "constant_memory": True,
                "tmpdir": str(work_dir),
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_date_format": XLSX_NUMBER_FORMATS[Fmt.DATE],
            },
        )
        if created is not None:
            workbook.set_properties({"created": created})
        header_format = workbook.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        cell_formats = {
            fmt: workbook.add_format({"num_format": number_format})
            for fmt, number_format in XLSX_NUMBER_FORMATS.items()
        }
        for table in tables:
            _write_sheet(workbook, table, header_format, cell_formats)
        workbook.close()
        handle.flush()
        os.fsync(handle.fileno())


def _write_sheet(
    workbook: xlsxwriter.Workbook,
    table: Table,
    header_format: Any,
    cell_formats: dict[Fmt, Any],
) -> None:
    if len(table.rows) + 1 > _XLSX_MAX_ROWS:
        raise ValueError(f"table {table.name!r}: {len(table.rows)} rows do not fit in a sheet")
    sheet = workbook.add_worksheet(table.sheet)
    last_col = len(table.columns) - 1
    # Column sizes and sheet settings first: in constant_memory mode rows are streamed.
    for position, width in enumerate(_column_widths(table)):
        sheet.set_column(position, position, width, cell_formats.get(table.columns[position][1]))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(table.rows), last_col)
    sheet.repeat_rows(0)  # the header on every printed page
    # Printed landscape with every column on the page width: A3 for the wide tables.
    sheet.set_paper(8 if len(table.columns) > 12 else 9)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    for col, (header, _) in enumerate(table.columns):
        sheet.write_string(0, col, header, header_format)
    for index, row in enumerate(table.rows):
        _check_row(table, index, row)
        try:
            _write_xlsx_row(sheet, index + 1, row, table.columns, cell_formats)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"table {table.name!r}, row {index + 1}: {exc}") from exc


def _write_xlsx_row(
    sheet: Any,
    row_number: int,
    row: Sequence[Any],
    columns: list[tuple[str, Fmt]],
    cell_formats: dict[Fmt, Any],
) -> None:
    for col, (value, (_, fmt)) in enumerate(zip(row, columns, strict=True)):
        if _is_missing(value):
            continue
        if fmt is Fmt.TEXT:
            # write_string, never write(): the text stays text, whatever it starts with.
            if sheet.write_string(row_number, col, _as_text(value)) == -2:
                log.warning("a text of sheet %r was cut to Excel's 32,767 characters", sheet.name)
        elif fmt is Fmt.DATE:
            sheet.write_datetime(row_number, col, _as_date(value), cell_formats[fmt])
        elif fmt is Fmt.INT:
            sheet.write_number(row_number, col, _integer(value), cell_formats[fmt])
        else:
            # The same rounded value as the CSV, so the two files never disagree.
            sheet.write_number(row_number, col, float(_rounded(value, fmt)), cell_formats[fmt])


def _json_default(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"manifest: {type(value).__name__} is not JSON serialisable")


def _write_manifest(path: Path, outputs: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    manifest: dict[str, Any] = {"outputs": sorted(outputs, key=lambda item: item["file"])}
    manifest.update(extra)
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    with os.fdopen(_open_new(path), "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _validate(target_dir: Path, workbook_name: str, tables: list[Table], extra: dict) -> None:
    if not _SIMPLE_NAME.match(target_dir.name):
        raise ValueError(f"target folder name {target_dir.name!r} is not a plain name")
    if not tables:
        raise ValueError("an extract needs at least one table")
    if not _SIMPLE_NAME.match(workbook_name) or not workbook_name.lower().endswith(".xlsx"):
        raise ValueError(f"workbook name {workbook_name!r} must be a plain name ending in .xlsx")
    names = [workbook_name.casefold(), MANIFEST_NAME]
    sheets: set[str] = set()
    for table in tables:
        if not _SIMPLE_NAME.match(table.name):
            raise ValueError(f"table name {table.name!r} is not a plain file stem")
        names.append(f"{table.name}.csv".casefold())
        if table.sheet.casefold() in sheets:
            raise ValueError(f"sheet {table.sheet!r} appears twice")
        sheets.add(table.sheet.casefold())
        if not table.columns:
            raise ValueError(f"table {table.name!r} has no column")
        for header, fmt in table.columns:
            if not isinstance(fmt, Fmt):
                raise TypeError(f"table {table.name!r}, column {header!r}: {fmt!r} is not a Fmt")
    if len(set(names)) != len(names):
        raise ValueError(f"two outputs of the extract would have the same file name: {names}")
    if "outputs" in extra:
        raise ValueError("manifest_extra cannot hold the key 'outputs'")


def _build(
    staging: Path,
    workbook_name: str,
    tables: list[Table],
    extra: dict[str, Any],
    created: datetime | None,
    documents: dict[str, str] | None = None,
    reuse: dict[str, Path] | None = None,
) -> None:
    """Write every file of the extract into the (new, empty) staging folder."""
    reuse = reuse or {}
    outputs: list[dict[str, Any]] = []
    for name, text in (documents or {}).items():
        path = staging / name
        fd = _open_new(path)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        outputs.append({"file": name, "sha256": _sha256(path), "rows": None})
    for table in tables:
        path = staging / f"{table.name}.csv"
        if path.name in reuse:
            _copy_new(reuse[path.name], path)
        else:
            _write_csv(path, table)
        outputs.append({"file": path.name, "sha256": _sha256(path), "rows": len(table.rows)})
    path = staging / workbook_name
    if workbook_name in reuse:
        _copy_new(reuse[workbook_name], path)
    else:
        work_dir = staging / ".xlsxwriter"
        os.mkdir(work_dir, 0o700)
        try:
            _write_workbook(path, tables, work_dir, created)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    total = sum(len(table.rows) for table in tables)
    outputs.append({"file": workbook_name, "sha256": _sha256(path), "rows": total})
    _write_manifest(staging / MANIFEST_NAME, outputs, extra)
    _fsync_dir(staging)


def _copy_new(source: Path, path: Path) -> None:
    """Make the new file ``path`` hold the bytes of ``source``: a hard link when possible
    (published files are never modified in place, only replaced with their folder, and the
    source is already on disk), else a copy (FILE_MODE) flushed to disk."""
    try:
        os.link(source, path, follow_symlinks=False)
        return
    except OSError:
        pass
    with open(source, "rb") as reader, os.fdopen(_open_new(path), "wb") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())


# --------------------------------------------------------------------------------------------
# Atomic publication
# --------------------------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2_func: Any = None
_renameat2_looked_up = False


def _renameat2() -> Any:
    """libc's renameat2, or None when the platform has none."""
    global _renameat2_func, _renameat2_looked_up
    if not _renameat2_looked_up:
        _renameat2_looked_up = True
        if sys.platform.startswith("linux"):
            try:
                func = ctypes.CDLL(None, use_errno=True).renameat2
            except (AttributeError, OSError):
                func = None
            if func is not None:
                func.argtypes = [
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_uint,
                ]
                func.restype = ctypes.c_int
            _renameat2_func = func
    return _renameat2_func


def _exchange_dirs(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False when the system cannot do it."""
    func = _renameat2()
    if func is None:
        return False
    result = func(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # old kernel, or a file system (NFS...) without exchange
    raise OSError(error, os.strerror(error), str(first), None, str(second))


def _sibling(target: Path, role: str) -> Path:
    return target.parent / f".{target.name}.{role}-{uuid.uuid4().hex}"


def _siblings(target: Path, role: str) -> list[Path]:
    prefix = f".{target.name}.{role}-"
    found = []
    for entry in target.parent.iterdir():
        if entry.name.startswith(prefix) and _UUID_HEX.match(entry.name[len(prefix) :]):
            found.append(entry)
    return found


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _recover(target: Path) -> None:
    """Undo what an earlier crash left around ``target``.

    A previous extract renamed aside and never replaced is put back; every other temporary
    sibling of ``target`` (unfinished builds, old extracts awaiting deletion) is removed.
    """
    asides = _siblings(target, "old")
    if not os.path.lexists(target) and asides:
        newest = max(asides, key=lambda path: path.lstat().st_mtime_ns)
        os.replace(newest, target)
        _fsync_dir(target.parent)
        asides.remove(newest)
        log.warning("extract %s restored after an interrupted publication", target)
    for stale in asides + _siblings(target, "tmp"):
        log.info("removing %s, left by an interrupted extract", stale.name)
        _remove(stale)


def _publish(staging: Path, target: Path) -> None:
    """Put the complete ``staging`` folder at ``target``, replacing any previous extract."""
    if not os.path.lexists(target):
        os.replace(staging, target)
        _fsync_dir(target.parent)
        return
    if _exchange_dirs(staging, target):
        _fsync_dir(target.parent)
        _remove(staging)  # now holds the previous extract
        return
    aside = _sibling(target, "old")
    os.replace(target, aside)
    try:
        os.replace(staging, target)
    except BaseException:
        if not os.path.lexists(target):
            os.replace(aside, target)
        raise
    _fsync_dir(target.parent)
    _remove(aside)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``directory`` (writers of one parent take turns)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each with DIR_MODE."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)


def _build_and_publish(target_dir: Path, build: Callable[[Path], None]) -> None:
    """Run ``build`` in a fresh private sibling of ``target_dir``, then publish it there."""
    _make_dirs(target_dir.parent)
    with _locked(target_dir.parent):
        _recover(target_dir)
        if os.path.lexists(target_dir) and (target_dir.is_symlink() or not target_dir.is_dir()):
            raise FileExistsError(f"{target_dir} exists and is not a folder")
        staging = _sibling(target_dir, "tmp")
        os.mkdir(staging, DIR_MODE)
        os.chmod(staging, DIR_MODE)
        try:
            try:
                build(staging)
            except OSError as error:
                # A full disk says only "[Errno 28] No space left on device" (or 27, File too
                # large), naming no file: say which extract failed, and that nothing changed.
                raise OSError(
                    error.errno,
                    f"{error.strerror or error}; extract not published, the previous one is "
                    "left as it was",
                    str(target_dir),
                ) from error
            _publish(staging, target_dir)
        except BaseException:
            with contextlib.suppress(OSError):
                if staging.exists():
                    _remove(staging)
            raise


def deliver_folder(source: Path, target_dir: Path) -> Path:
    """Copy the extract folder ``source`` to ``target_dir`` (an outbox), published atomically
    like the extract itself: the outbox shows the previous complete copy or the new one."""

    def copy(staging: Path) -> None:
        for path in sorted(Path(source).iterdir()):
            if path.is_file() and not path.is_symlink():
                destination = staging / path.name
                shutil.copyfile(path, destination)
                os.chmod(destination, FILE_MODE)

    _build_and_publish(Path(target_dir), copy)
    log.info("extract %s delivered to %s", source, target_dir)
    return Path(target_dir)


def write_extract(
    target_dir: Path,
    *,
    workbook_name: str,
    tables: list[Table],
    manifest_extra: dict[str, Any],
    created: datetime | None = None,
    documents: dict[str, str] | None = None,
    reuse: dict[str, Path] | None = None,
) -> Path:
    """Write an extract folder and publish it atomically at ``target_dir``; return it.

    The folder holds ``workbook_name`` (one sheet per table, in order), ``<table.name>.csv``
    for each table and ``manifest.json`` (``outputs``: file, SHA-256 and data rows of each
    output, the workbook counting the rows of all its sheets; then every key of
    ``manifest_extra``). An existing folder at ``target_dir`` is replaced as a whole: at any
    moment, and after a crash, the target is the previous complete extract or the new one.
    ``documents`` are more files (name -> UTF-8 text, e.g. the visual summary page), listed in
    the manifest with ``rows`` null. ``created`` fixes the workbook's creation timestamp (by
    default, now), which makes the workbook's bytes reproducible. ``reuse`` maps output names
    (a table's CSV, the workbook) to files known to hold exactly what would be written, e.g.
    the same date-free content published for an earlier date: they are copied instead of
    rendered again. Directories get mode 0o750, files 0o640.
    """
    target_dir = Path(target_dir)
    _validate(target_dir, workbook_name, tables, manifest_extra)
    _build_and_publish(
        target_dir,
        lambda staging: _build(
            staging, workbook_name, tables, manifest_extra, created, documents, reuse or {}
        ),
    )
    log.info(
        "extract published at %s: %d tables, %d rows",
        target_dir,
        len(tables),
        sum(len(table.rows) for table in tables),
    )
    return target_dir
