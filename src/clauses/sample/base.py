"""What every part of the generator shares: its state, and the writing of one file into the
landing zone."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from clauses.contract.kinds import (
    Kind,
)
from clauses.sample.basics import FIRST_RECEIPT, LAST_RECEIPT, _Sirets, _sub_rng
from clauses.sample.headers import _SHEET_NAMES
from clauses.sample.model import _Buyer, _Structure, _Unit
from clauses.sample.styles import _csv_bytes, _make_style, _Style, _XlsxSheetWriter

log = logging.getLogger(__name__)


class _GeneratorBase:
    def __init__(self, landing: Path, scale: float, seed: int) -> None:
        self.landing = landing
        self.scale = scale
        self.seed = seed
        self.sirets = _Sirets(_sub_rng(seed, "sirets"))
        self.structures: list[_Structure] = []
        self.by_region: dict[str, list[_Structure]] = {}
        self.buyers: dict[str, list[_Buyer]] = {}
        self.la_poste: list[_Buyer] = []
        self.units: list[_Unit] = []
        self.perturbed: dict[tuple[Kind, str, int], list[tuple[Any, ...]]] = {}
        self.unit_of: dict[tuple[str, int], _Unit] = {}
        self.first_names: dict[tuple[int, Kind], str] = {}
        # output bookkeeping
        self.names: set[tuple[str, str, str]] = set()
        self.files = 0
        self.rows: dict[str, int] = {k.value: 0 for k in Kind}
        self.variants: dict[str, list[str]] = {}
        self.style_counters: dict[str, int] = {}
        self.defects: dict[str, str] = {}

    # ---- output -----------------------------------------------------------------------------

    def _style(self, preset: str, region: str = "") -> tuple[_Style, int]:
        k = self.style_counters.get(preset, 0)
        self.style_counters[preset] = k + 1
        return _make_style(preset, k, region=region), k

    def _tag(self, rel: str, tags: Iterable[str]) -> None:
        for tag in tags:
            paths = self.variants.setdefault(tag, [])
            if len(paths) < 25:
                paths.append(rel)

    def _path(self, folder: str, receipt: date, name: str) -> tuple[Path, str]:
        if receipt > LAST_RECEIPT or receipt < FIRST_RECEIPT:
            raise AssertionError(f"receipt date out of range: {receipt}")
        day = receipt.isoformat()
        stem, dot, ext = name.rpartition(".")
        n = 1
        while (folder, day, name.casefold()) in self.names:
            n += 1
            name = f"{stem}_{n}{dot}{ext}"
        self.names.add((folder, day, name.casefold()))
        rel = f"{folder}/{day}/{name}"
        path = self.landing / folder / day / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, rel

    def _ext(self, style: _Style) -> str:
        ext = "csv" if style.fmt == "csv" else "xlsx"
        return ext.upper() if style.upper_ext else ext

    def write_csv(
        self,
        folder: str,
        receipt: date,
        stem: str,
        kind: Kind,
        rows: Sequence[tuple[Any, ...]],
        style: _Style,
        k: int,
        extra_tags: Sequence[str] = (),
        count: bool = True,
    ) -> tuple[str, bytes]:
        data = _csv_bytes(kind, rows, style, k)
        path, rel = self._path(folder, receipt, f"{stem}.{self._ext(style)}")
        path.write_bytes(data)
        self.files += 1
        if count:
            self.rows[kind.value] += len(rows)
            self._tag(rel, [*style.tags([kind]), *extra_tags])
            if not rows:
                self._tag(rel, ["header_only_file"])
        return rel, data

    def write_xlsx(
        self,
        folder: str,
        receipt: date,
        stem: str,
        sheets: Sequence[tuple[Kind, Sequence[tuple[Any, ...]]]],
        style: _Style,
        k: int,
        titles: Sequence[str],
        extra_tags: Sequence[str] = (),
        count: bool = True,
    ) -> str:
        path, rel = self._path(folder, receipt, f"{stem}.{self._ext(style)}")
        big = sum(len(rows) for _k, rows in sheets) > 2000
        options = {"constant_memory": True} if big else {"in_memory": True}
        wb = xlsxwriter.Workbook(str(path), options)
        created = datetime(receipt.year, receipt.month, receipt.day, 7, 30, 0)
        wb.set_properties({"title": stem, "author": "ABC Clauses", "created": created})
        writer = _XlsxSheetWriter(wb, style)
        if style.notes_sheet and k % 2 == 0:
            self._notes(wb, receipt)
        for kind, rows in sheets:
            name = _SHEET_NAMES[kind][style.sheet_names]
            ws = wb.add_worksheet(name)
            writer.write(ws, kind, rows, k, titles)
            if count:
                self.rows[kind.value] += len(rows)
        if style.notes_sheet and k % 2 == 1:
            self._notes(wb, receipt)
        wb.close()
        self.files += 1
        if count:
            kinds = [kd for kd, _r in sheets]
            tags = [*style.tags(kinds), *extra_tags]
            if len(sheets) > 1:
                tags.append("xlsx_several_kinds")
            if any(not rows for _k, rows in sheets):
                tags.append("header_only_sheet")
            self._tag(rel, tags)
        return rel

    @staticmethod
    def _notes(wb: xlsxwriter.Workbook, receipt: date) -> None:
        ws = wb.add_worksheet("Notes")
        lines = (
            "Données extraites de l'outil de suivi des clauses sociales.",
            f"Extraction du {receipt:%d/%m/%Y}.",
            "Les heures sont déclarées par les entreprises attributaires.",
            "Contact : cellule clauses sociales de la structure.",
        )
        for i, line in enumerate(lines):
            ws.write_string(i, 0, line)

    # ---- world ------------------------------------------------------------------------------
