"""Opening a workbook: each sheet read by calamine at once when small, by slices of its XML
(`sheet_slices`) when big."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clauses.read.archives import NO_KIND_XLSX, NOT_XLSX, SHEET_PART, check_zip
from clauses.read.sheet_slices import open_workbook_sliced
from clauses.read.sheets import SheetAssembler, SheetReader, SheetSlice
from clauses.read.tables import FileRefused, OpenedFile, TableReader, TextBatch

# A sheet read by calamine at once when its XML and its rows x columns bound are at most these;
# bigger sheets are read by slices (`sheet_slices`): memory follows the slice, not the sheet.
XLSX_WHOLE_SHEET_BYTES = 16 << 20
XLSX_WHOLE_CELLS = 4_000_000

log = logging.getLogger(__name__)


def open_xlsx(path: Path, size: int, *, max_ratio: float, max_uncompressed: int) -> OpenedFile:
    parts = check_zip(path, size, max_ratio, max_uncompressed)
    sheets = [s for name, s in parts.items() if SHEET_PART.search(name)]
    small = (
        all(s.size <= XLSX_WHOLE_SHEET_BYTES and s.cells() <= XLSX_WHOLE_CELLS for s in sheets)
        and sum(s.size for s in sheets) <= 4 * XLSX_WHOLE_SHEET_BYTES
    )
    try:
        if small:
            tables, ignored = _read_workbook_whole(path)
        else:
            tables, ignored = open_workbook_sliced(path)
    except FileRefused:
        raise
    except Exception as error:  # calamine raises its own error types for corrupt parts
        log.warning("calamine could not read %s: %s", path.name, type(error).__name__)
        raise FileRefused(NOT_XLSX) from None
    if not tables:
        raise FileRefused(NO_KIND_XLSX)
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
            assembler = SheetAssembler(meta.name)
            batches: list[TextBatch] = []
            for piece in _whole_sheet(workbook, meta.name):
                batches += assembler.feed(piece)
            batches += assembler.finish()
            if assembler.kind is None:
                ignored.append(meta.name)
            else:
                again = functools.partial(_whole_sheet_again, path, meta.name)
                tables.append(SheetReader(assembler, again, batches))
    return tables, ignored


def _whole_sheet(workbook: Any, name: str) -> Iterator[SheetSlice]:
    """The sheet ``name`` of an open calamine workbook, as one slice (none when empty)."""
    sheet = workbook.get_sheet_by_name(name)
    if sheet.start is not None:
        first_row, first_column = sheet.start
        piece = SheetSlice.of(sheet.to_python(skip_empty_area=True), first_row, first_column)
        if piece is not None:
            yield piece


def _whole_sheet_again(path: Path, name: str) -> Iterator[SheetSlice]:
    """The sheet ``name`` of a small workbook, read again (its reader let its rows go)."""
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as workbook:
        yield from _whole_sheet(workbook, name)
