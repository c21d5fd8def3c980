"""Big sheets: read by slices of their XML handed to calamine one at a time, shared strings
resolved by index, so that memory follows the slice, not the sheet."""

from __future__ import annotations

import contextlib
import html
import io
import logging
import posixpath
import re
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pyarrow as pa
import pyarrow.compute as pc

from clauses.read.archives import (
    NOT_XLSX,
    ROW_NUMBER,
    WIDE_REFS,
    WORKBOOK_PART,
    ZIP_CHUNK,
    last_row_number,
)
from clauses.read.sheets import SHARED_MARK, SheetAssembler, SheetReader, SheetSlice
from clauses.read.tables import EMPTY_TEXT, FileRefused, TableReader

log = logging.getLogger(__name__)

XLSX_SLICE_BYTES = 8 << 20  # sheet XML handed to calamine at once
XLSX_SLICE_CELLS = 2_000_000  # calamine allocates rows x columns cells for a slice: at most this


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
_SHARED_MARK_BYTES = SHARED_MARK.encode("utf-8")
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
    workbook = office[0] if office else next(n for n in names if WORKBOOK_PART.search(n))
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
        return EMPTY_TEXT
    strings: list[str] = []
    chunks: list[pa.Array] = []
    with archive.open(part) as xml:
        pending = b""
        while True:
            block = xml.read(ZIP_CHUNK * 4)
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
    marked = pc.starts_with(values, SHARED_MARK)
    if not pc.any(marked).as_py():
        return values
    try:
        indices = pc.cast(pc.utf8_slice_codeunits(values.filter(marked), 1), pa.int64())
    except pa.ArrowInvalid:
        raise FileRefused(NOT_XLSX) from None
    if pc.min(indices).as_py() < 0 or pc.max(indices).as_py() >= len(shared):
        raise FileRefused(NOT_XLSX)  # an index out of the shared strings table
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

    def __call__(self) -> Generator[SheetSlice, None, None]:
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
                        raise FileRefused(NOT_XLSX)  # one row of more than 64 Mio
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

    def _slices(self, rows: bytes) -> Iterator[SheetSlice]:
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
        first = ROW_NUMBER.search(rows)
        last = last_row_number(rows, self._prefix)
        if first is not None and last is not None:
            span = last - int(first.group(1)) + 1
        else:
            span = rows.count(b"<" + self._prefix + b"row")
        columns = 26
        for pattern, _ in WIDE_REFS:
            refs = pattern.findall(rows)
            if refs:
                columns = max(_column_index(ref[4:-1]) for ref in refs) + 1
                break
        return span * columns <= XLSX_SLICE_CELLS

    def _calamine(self, rows: bytes) -> SheetSlice | None:
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
                raise FileRefused(NOT_XLSX)  # a shared string cell without a value
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
        if ROW_NUMBER.search(rows, 0, 4096) is None:  # rows without numbers: count them
            first_row += self._rows_before
        piece = SheetSlice.of(sheet.to_python(skip_empty_area=True), first_row, first_column)
        if piece is not None:
            piece.arrays = [_resolve_shared(a, self._shared) for a in piece.arrays]
            piece.shared = self._shared
        return piece


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (letter - 64)
    return index - 1


def open_workbook_sliced(path: Path) -> tuple[list[TableReader], list[str]]:
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
        assembler = SheetAssembler(name)
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
            tables.append(SheetReader(assembler, slices, None))
    return tables, ignored
