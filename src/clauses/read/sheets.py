"""The cells of a sheet as text, and a sheet's rows turned into the batches of its table:
title rows above the header, blank rows and a final "Total" row dropped (contract §3)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from clauses.contract.kinds import (
    KINDS,
    Kind,
)
from clauses.read.archives import NOT_XLSX
from clauses.read.tables import (
    ALL_KNOWN_KEYS,
    KIND_KEYS,
    MAX_TITLE_ROWS,
    ColumnPlan,
    FileRefused,
    TableReader,
    TextBatch,
    UnnamedColumns,
    check_header,
    check_values,
    detect_kind,
    filled_rows,
    header_key,
    plan_columns,
    sheet_name_kind,
    stripped,
)

log = logging.getLogger(__name__)

# Cells of shared strings of a big sheet reach calamine as text cells holding this private-use
# character then the string's index (`sheet_slices`); the rows' texts resolve them.
SHARED_MARK = "\ue000"
TOTAL_ROW = re.compile(r"^total(?![a-zà-ÿ])", re.IGNORECASE)


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer():
        return str(int(value))
    # Shortest round-trip digits (as repr), never in scientific notation.
    text = repr(value)
    return text if "e" not in text else np.format_float_positional(value, trim="-")


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
        pass
    # A column's numbers repeat (hours, SIRETs stored as numbers): each distinct float is
    # formatted once. Floats only: True, 1 and 1.0 are one dict key, and not one text.
    floats: dict[float, str] = {}
    texts: list[str | None] = []
    for value in values:
        kind = value.__class__
        if kind is str:
            texts.append(value)  # type: ignore[arg-type]
        elif kind is float:
            text = floats.get(value)  # type: ignore[call-overload]
            if text is None:
                text = floats[value] = _format_float(value)  # type: ignore[index,arg-type]
            texts.append(text)
        else:
            texts.append(cell_text(value))
    return pa.array(texts, type=pa.string())


@dataclass
class SheetSlice:
    """Consecutive rows of a sheet as calamine gave them: one text array per column, and the
    rows themselves (for the few cells looked at one by one)."""

    first_row: int  # 0-based row of the first one
    first_column: int  # 0-based column of arrays[0]
    arrays: list[pa.Array]
    rows: list[list[Any]]
    shared: pa.Array | None = None  # the shared strings, when cells name them by index
    _filled: np.ndarray | None = None

    @staticmethod
    def of(rows: list[list[Any]], first_row: int, first_column: int) -> SheetSlice | None:
        if not rows:
            return None
        arrays = [_text_array(column) for column in zip(*rows, strict=True)]
        return SheetSlice(first_row, first_column, arrays, rows)

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def end_column(self) -> int:
        return self.first_column + len(self.arrays)

    def filled(self) -> np.ndarray:
        """Whether each row holds something in any column."""
        if self._filled is None:
            self._filled = filled_rows(self.arrays, self.n_rows)
        return self._filled

    def row_texts(self, index: int) -> list[str]:
        """The stripped texts of one row, from column A ("" for empty cells)."""
        texts = [stripped(cell_text(v)) for v in self.rows[index]]
        if self.shared is not None:
            texts = [
                stripped(self.shared[int(t[1:])].as_py()) if t[:1] == SHARED_MARK else t
                for t in texts
            ]
        return [""] * self.first_column + texts


class SheetAssembler:
    """Turns the slices of one sheet, in order, into the batches of its table.

    Up to MAX_TITLE_ROWS title rows may stand above the header; blank rows and a final row whose
    first cell starts with "Total" are dropped (the last data row is held back until another
    one shows it was not the last).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.named_kind = sheet_name_kind(name)
        self.kind: Kind | None = None
        self.plan: ColumnPlan | None = None
        self.header_row = -1
        self.decided = False
        self._waiting: list[SheetSlice] = []
        self._filled: list[tuple[SheetSlice, int]] = []
        self._held: tuple[TextBatch, str | None, set[int]] | None = None
        self.unnamed = UnnamedColumns()

    def feed(self, piece: SheetSlice) -> list[TextBatch]:
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
            if first_cell is None or not TOTAL_ROW.match(first_cell):
                self.unnamed.with_data |= unnamed
                out.append(batch)
        return out

    def _decide(self) -> list[TextBatch]:
        self.decided = True
        waiting, self._waiting = self._waiting, []
        if not self._filled:
            return []
        known = set(KIND_KEYS[self.named_kind]) if self.named_kind else ALL_KNOWN_KEYS
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
        self.plan = plan_columns(headers, KINDS[self.kind])
        return [batch for piece in waiting for batch in self._data(piece)]

    def _data(self, piece: SheetSlice) -> list[TextBatch]:
        plan = self.plan
        if plan is None:
            return []
        kept = [p for p in range(piece.first_column, piece.end_column) if p not in plan.personal]
        arrays = {p: piece.arrays[p - piece.first_column] for p in kept}
        rows0 = np.arange(piece.first_row, piece.first_row + piece.n_rows, dtype=np.int64)
        present = (
            piece.filled()
            if len(kept) == len(piece.arrays)
            else filled_rows(list(arrays.values()), piece.n_rows)
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
        last_unnamed = {p for p, values in unnamed.items() if stripped(values[-1].as_py())}
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


class SheetReader(TableReader):
    """The table of one sheet: its batches come from calamine, whole or by slices."""

    def __init__(self, assembler: SheetAssembler, slices: Any, kept: list[TextBatch] | None):
        assert assembler.kind is not None and assembler.plan is not None
        super().__init__(assembler.kind, assembler.name, assembler.plan)
        self._unnamed = assembler.unnamed
        self._slices = slices  # () -> iterator of SheetSlice: the sheet read (again)
        self._kept = kept

    def let_go(self) -> None:
        self._kept = None

    def batches(self) -> Iterator[TextBatch]:
        if self._kept is not None:
            yield from self._kept
            return
        assembler = SheetAssembler(self.sheet or "")
        assembler.unnamed = self._unnamed
        pieces = self._slices()
        while True:
            try:
                piece = next(pieces, None)
            except FileRefused:
                raise
            except Exception as error:  # calamine's own errors on a corrupt slice
                log.warning("calamine could not read a slice: %s", type(error).__name__)
                raise FileRefused(NOT_XLSX) from None
            if piece is None:
                break
            yield from assembler.feed(piece)
        yield from assembler.finish()
