"""How activity reaches the landing zone: files per structure or region and period, their
receipt dates, corrections and re-sent copies."""

from __future__ import annotations

import logging
import random
from datetime import date, timedelta
from typing import Any

from clauses.contract.kinds import (
    REGIONS,
    Kind,
)
from clauses.sample.base import _GeneratorBase
from clauses.sample.basics import LAST_RECEIPT, _month_start, _sub_rng, _ym
from clauses.sample.headers import _ACTIVITY, _HI_HOURS, KIND_SLUG
from clauses.sample.model import _Structure, _Unit
from clauses.sample.reference import _REGION_PLAN
from clauses.sample.styles import _make_style

log = logging.getLogger(__name__)


class _Deliveries(_GeneratorBase):
    def plan(self) -> None:
        rng = _sub_rng(self.seed, "plan")
        for region in sorted(REGIONS):
            _w, shape, period, presets = _REGION_PLAN[region]
            structures = self.by_region[region]
            if shape == "region":
                months = sorted({m for s in structures for m in s.months_with_data()})
                groups: list[list[int]] = []
                for m in months:
                    if (
                        region == "75"
                        and groups
                        and groups[-1] == [m - 1]
                        and _ym(m - 1) == "2024-07"
                    ):
                        groups[-1].append(m)  # a catch-up export covering two months
                    else:
                        groups.append([m])
                day = 3 + int(region) % 6
                for g in groups:
                    receipt = _month_start(g[-1] + 1) + timedelta(days=day + rng.randint(0, 3))
                    label = _ym(g[0]) if len(g) == 1 else f"{_ym(g[0])}_{_ym(g[-1])}"
                    self._add_unit(
                        _Unit(region, receipt, g, structures, presets[0], "region", label)
                    )
            else:
                for s in structures:
                    s.preset = presets[s.index % len(presets)]
                    months = s.months_with_data()
                    if period == "month":
                        for m in months:
                            receipt = _month_start(m + 1) + timedelta(days=rng.randint(0, 19))
                            self._add_unit(
                                _Unit(region, receipt, [m], [s], s.preset, "structure", _ym(m))
                            )
                    else:
                        quarters: dict[int, list[int]] = {}
                        for m in months:
                            quarters.setdefault(m // 3, []).append(m)
                        for q, ms in quarters.items():
                            receipt = _month_start(q * 3 + 3) + timedelta(days=rng.randint(2, 24))
                            folder = region
                            if region == "24" and s.index == 0 and q == (2025 * 12) // 3:
                                folder = "27"  # dropped in the neighbouring region's folder
                            label = f"{q // 4}-T{q % 4 + 1}"
                            self._add_unit(
                                _Unit(
                                    folder,
                                    receipt,
                                    ms,
                                    [s],
                                    s.preset,
                                    "structure",
                                    label,
                                    "quarter",
                                )
                            )
        # months that nobody sent before the end of the period are not part of the dataset
        for s in self.structures:
            for kind in _ACTIVITY:
                per_month = s.data.get(kind, {})
                for m in list(per_month):
                    if (s.code, m) not in self.unit_of:
                        del per_month[m]

    def _add_unit(self, unit: _Unit) -> None:
        if unit.receipt > LAST_RECEIPT:
            return
        self.units.append(unit)
        for s in unit.structures:
            for m in unit.months:
                self.unit_of[(s.code, m)] = unit

    # ---- corrections ------------------------------------------------------------------------

    def plan_corrections(self) -> list[tuple[Kind, _Structure, int, date, str]]:
        """Pick partitions whose first delivery is wrong and re-sent later.

        Returns (kind, structure, month, receipt of the correction, how) with how in
        "file" (a correction file), "same_day" (same receipt date, name sorting last).
        """
        rng = _sub_rng(self.seed, "corrections")
        rates = {Kind.HEURES: 0.025, Kind.MARCHES: 0.01, Kind.CONTACTS: 0.006}
        out: list[tuple[Kind, _Structure, int, date, str]] = []
        same_day_done = forced_done = False
        for s in self.structures:
            for kind, rate in rates.items():
                for m, rows in sorted(s.data[kind].items()):
                    forced = (
                        kind is Kind.HEURES
                        and s.index == 0
                        and s.region == "84"
                        and not forced_done
                    )
                    if len(rows) < 3 or not (rng.random() < rate or forced):
                        continue
                    forced_done = forced_done or forced
                    unit = self.unit_of[(s.code, m)]
                    if not same_day_done and kind is Kind.HEURES:
                        when, how = unit.receipt, "same_day"
                        same_day_done = True
                    else:
                        when, how = unit.receipt + timedelta(days=rng.randint(6, 45)), "file"
                    if when > LAST_RECEIPT:
                        continue
                    self.perturbed[(kind, s.code, m)] = self._perturb(rng, kind, rows)
                    out.append((kind, s, m, when, how))
        return out

    @staticmethod
    def _perturb(
        rng: random.Random, kind: Kind, rows: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        bad = list(rows)
        for _ in range(rng.randint(1, 2)):
            if len(bad) > 1:
                bad.pop(rng.randrange(len(bad)))
        if kind is Kind.HEURES:
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(bad))
                r = bad[i]
                h = r[_HI_HOURS]
                new = h + 7 if h + 7 <= 151 else h - 7
                bad[i] = r[:_HI_HOURS] + (new,) + r[_HI_HOURS + 1 :]
        return bad

    # ---- writing: activity ------------------------------------------------------------------

    def _unit_rows(self, unit: _Unit, kind: Kind, *, truth: bool = False) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for s in unit.structures:
            per_month = s.data[kind]
            for m in unit.months:
                rows = None if truth else self.perturbed.get((kind, s.code, m))
                if rows is None:
                    rows = per_month.get(m)
                if rows:
                    out.extend(rows)
        return out

    def _titles(self, what: str, unit_label: str, receipt: date, who: str) -> list[str]:
        return [
            f"ABC Clauses — {what}",
            who,
            f"Période : {unit_label}",
            f"Extraction du {receipt:%d/%m/%Y}",
            "",
            "Données déclaratives, susceptibles de corrections.",
            "Source : outil de suivi des clauses sociales",
            "",
            "Document de travail",
            "",
        ]

    def write_activity(self) -> None:
        corrections = self.plan_corrections()
        full_resend = self._pick_full_resend()
        doublon_done = False
        for unit in self.units:
            kinds_rows = [(kind, self._unit_rows(unit, kind)) for kind in _ACTIVITY]
            if unit.shape == "region":
                who = f"Région : {REGIONS[unit.folder][0]}"
                tags = ["region_wide_export"]
                if len(unit.months) > 1:
                    tags.append("region_export_several_months")
            else:
                s = unit.structures[0]
                who = f"Structure : {s.raison} (SIRET {s.siret})"
                tags = [
                    "structure_monthly_file"
                    if unit.period == "month"
                    else "structure_quarterly_file"
                ]
                if unit.folder != s.region:
                    tags.append("activity_in_other_region_folder")
            if unit.preset == "xlsx":
                style, k = self._style(unit.preset)
                sheets = [
                    (kind, rows)
                    for kind, rows in kinds_rows
                    if rows or kind is Kind.HEURES or style.header_only
                ]
                if unit.shape == "region":
                    stem = f"Export {REGIONS[unit.folder][0]} {unit.label}"
                else:
                    s = unit.structures[0]
                    stem = (
                        f"ABC_{s.code}_{unit.label}"
                        if unit.period == "month"
                        else f"Suivi clauses {s.raison} {unit.label}"
                    )
                titles = self._titles("Suivi de l'activité", unit.label, unit.receipt, who)
                rel = self.write_xlsx(
                    unit.folder, unit.receipt, stem, sheets, style, k, titles, tags
                )
                for kind, _rows in sheets:
                    self.first_names[(id(unit), kind)] = rel
                continue
            for kind, rows in kinds_rows:
                style, k = self._style(unit.preset, unit.folder)
                if not rows and not (style.header_only and kind is not Kind.HEURES):
                    continue
                slug = KIND_SLUG[kind]
                if unit.shape == "region":
                    stem = f"export_{unit.folder}_{slug}_{unit.label}"
                elif unit.period == "month":
                    stem = f"{unit.structures[0].siret}_{slug}_{unit.label}"
                else:
                    stem = f"{unit.structures[0].code}_{slug}_{unit.label}"
                if unit.preset == "xlsx_split":
                    titles = self._titles(f"Export {slug}", unit.label, unit.receipt, who)
                    self.first_names[(id(unit), kind)] = self.write_xlsx(
                        unit.folder, unit.receipt, stem, [(kind, rows)], style, k, titles, tags
                    )
                    continue
                rel, data = self.write_csv(
                    unit.folder, unit.receipt, stem, kind, rows, style, k, tags
                )
                self.first_names[(id(unit), kind)] = rel
                if unit is full_resend[0] and kind is Kind.HEURES:
                    truth = self._unit_rows(unit, kind, truth=True)
                    later = unit.receipt + timedelta(days=12)
                    self.write_csv(
                        unit.folder,
                        later,
                        stem + "_corrige",
                        kind,
                        truth,
                        style,
                        k,
                        ["correction_full_resend"],
                    )
                if (
                    not doublon_done
                    and unit.shape == "region"
                    and kind is Kind.CONTACTS
                    and unit.receipt + timedelta(days=4) <= LAST_RECEIPT
                    and unit.receipt.year == 2024
                    and unit.receipt.month >= 6
                ):
                    name = "renvoi " + rel.rsplit("/", 1)[1]
                    path, rel2 = self._path(unit.folder, unit.receipt + timedelta(days=4), name)
                    path.write_bytes(data)  # the same bytes again: a doublon
                    self.files += 1
                    self.rows[kind.value] += len(rows)
                    self._tag(rel2, ["doublon_same_bytes"])
                    doublon_done = True
        for kind, s, m, when, how in corrections:
            self._write_correction(kind, s, m, when, how)

    def _pick_full_resend(self) -> tuple[_Unit | None, list[tuple[str, int]]]:
        """A region-wide CSV export re-sent whole, corrected, twelve days later."""
        rng = _sub_rng(self.seed, "resend")
        for unit in self.units:
            if unit.shape == "region" and unit.folder == "44" and _ym(unit.months[0]) >= "2024-09":
                if unit.receipt + timedelta(days=12) > LAST_RECEIPT:
                    continue
                parts = []
                for s in unit.structures[:2]:
                    rows = s.data[Kind.HEURES].get(unit.months[0])
                    if (
                        rows
                        and len(rows) >= 3
                        and (Kind.HEURES, s.code, unit.months[0]) not in self.perturbed
                    ):
                        self.perturbed[(Kind.HEURES, s.code, unit.months[0])] = self._perturb(
                            rng, Kind.HEURES, rows
                        )
                        parts.append((s.code, unit.months[0]))
                if parts:
                    return unit, parts
        return None, []

    def _write_correction(self, kind: Kind, s: _Structure, m: int, when: date, how: str) -> None:
        unit = self.unit_of[(s.code, m)]
        rows = s.data[kind][m]
        preset = unit.preset if unit.preset not in ("xlsx", "xlsx_split") else "xlsx"
        style, k = self._style(preset, unit.folder)
        style.header_only = False
        if how == "same_day":
            # same receipt date as the first delivery, a name that sorts after it
            first = self.first_names[(id(unit), kind)].rsplit("/", 1)[1]
            stem = first.rsplit(".", 1)[0] + "_v2"
            tags = ["correction_same_day_name_sorts_last"]
            style = _make_style("cp1252", 1)
            style.upper_ext = False
        else:
            stem = f"correctif_{KIND_SLUG[kind]}_{s.siret}_{_ym(m)}"
            tags = ["correction_later_receipt"]
        if style.fmt == "xlsx":
            titles = self._titles("Correctif", _ym(m), when, f"Structure : {s.raison}")
            self.write_xlsx(unit.folder, when, stem, [(kind, rows)], style, k, titles, tags)
        else:
            self.write_csv(unit.folder, when, stem, kind, rows, style, k, tags)

    # ---- writing: conventions ---------------------------------------------------------------
