"""The workbook of an extract (contract §7): one XLSX sheet per table, written by xlsxwriter.

Bold French headers, frozen header row, autofilter, French number and date formats, columns
sized to their content, printed landscape on the page width. Every text is written as a string
cell, so no cell can ever be evaluated as a formula; numbers are the same rounded values as in
the CSV.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from clauses.publish.atomic import open_new
from clauses.publish.cells import (
    XLSX_NUMBER_FORMATS,
    Fmt,
    Table,
    as_date,
    as_integer,
    as_text,
    check_row,
    format_csv_value,
    is_missing,
    rounded,
)

__all__ = ["write_workbook"]

log = logging.getLogger(__name__)

# Excel keeps the rows of a sheet below this limit, header included.
_XLSX_MAX_ROWS = 1_048_576
_MIN_WIDTH = 8.0
_MAX_WIDTH = 60.0


def _display_width(value: object, fmt: Fmt) -> int:
    """Rough number of characters Excel shows for a value, to size its column."""
    if is_missing(value):
        return 0
    if fmt is Fmt.TEXT:
        return len(as_text(value))
    if fmt is Fmt.DATE:
        return 10
    if fmt is Fmt.PERCENT:
        return len(format(rounded(value, Fmt.DEC4) * 100, ".1f")) + 2
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


def write_workbook(
    path: Path, tables: list[Table], work_dir: Path, created: datetime | None
) -> None:
    """Write every table as a sheet of one workbook; every text is a string cell."""
    with os.fdopen(open_new(path), "w+b") as handle:
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
        check_row(table, index, row)
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
        if is_missing(value):
            continue
        if fmt is Fmt.TEXT:
            # write_string, never write(): the text stays text, whatever it starts with.
            if sheet.write_string(row_number, col, as_text(value)) == -2:
                log.warning("a text of sheet %r was cut to Excel's 32,767 characters", sheet.name)
        elif fmt is Fmt.DATE:
            sheet.write_datetime(row_number, col, as_date(value), cell_formats[fmt])
        elif fmt is Fmt.INT:
            sheet.write_number(row_number, col, as_integer(value), cell_formats[fmt])
        else:
            # The same rounded value as the CSV, so the two files never disagree.
            sheet.write_number(row_number, col, float(rounded(value, fmt)), cell_formats[fmt])
