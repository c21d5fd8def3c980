"""Writing an extract folder: one XLSX workbook, one CSV per table and a manifest (contract §7).

An extract is a folder, e.g. ``extracts/<R>/<D>/``, published all or nothing (`atomic`):

- the workbook (`workbook`, one sheet per table);
- one CSV per table: UTF-8 with BOM, ``;`` separator, decimal comma, no thousands separator,
  dates ``AAAA-MM-JJ``, an empty cell for an undefined value, text cells neutralised against
  formula injection (`cells`);
- more documents given as text (the visual summary page);
- ``manifest.json``: each output with its SHA-256 and data row count, plus the caller's keys
  (as-of date, rules version, source files...).

Numbers in both the workbook and the CSV are the same values, rounded half up on their decimal
representation to the precision of their column, so the two files of one extract never
disagree.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from clauses.publish.atomic import build_and_publish, fsync_dir, open_new
from clauses.publish.cells import Fmt, Table, check_row, format_csv_value, neutralize_formula
from clauses.publish.workbook import write_workbook

__all__ = ["CSV_DELIMITER", "MANIFEST_NAME", "write_extract"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
CSV_DELIMITER = ";"

_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
    build_and_publish(
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
        fd = open_new(path)
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
            write_workbook(path, tables, work_dir, created)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    total = sum(len(table.rows) for table in tables)
    outputs.append({"file": workbook_name, "sha256": _sha256(path), "rows": total})
    _write_manifest(staging / MANIFEST_NAME, outputs, extra)
    fsync_dir(staging)


def _copy_new(source: Path, path: Path) -> None:
    """Make the new file ``path`` hold the bytes of ``source``: a hard link when possible
    (published files are never modified in place, only replaced with their folder, and the
    source is already on disk), else a copy (FILE_MODE) flushed to disk."""
    try:
        os.link(source, path, follow_symlinks=False)
        return
    except OSError:
        pass
    with open(source, "rb") as reader, os.fdopen(open_new(path), "wb") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_csv(path: Path, table: Table) -> None:
    """Write one table as a CSV file of the contract (UTF-8 with BOM, ``;``)."""
    formats = [fmt for _, fmt in table.columns]
    with os.fdopen(open_new(path), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=CSV_DELIMITER, quoting=csv.QUOTE_MINIMAL)
        writer.writerow([neutralize_formula(header) for header, _ in table.columns])
        for index, row in enumerate(table.rows):
            check_row(table, index, row)
            try:
                writer.writerow([format_csv_value(v, f) for v, f in zip(row, formats, strict=True)])
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"table {table.name!r}, row {index + 1}: {exc}") from exc
        handle.flush()
        os.fsync(handle.fileno())


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
    with os.fdopen(open_new(path), "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
