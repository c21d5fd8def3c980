"""The DREETS convention registers and the structures' intermediate and annual reports."""

from __future__ import annotations

import logging
import random
from datetime import date, timedelta
from typing import Any

from clauses.contract.kinds import (
    INCLUSIVE_EMPLOYERS,
    REGIONS,
    Kind,
)
from clauses.sample.basics import (
    LAST_RECEIPT,
    MILLESIMES,
    _add_months,
    _mi,
    _month_start,
    _strip_accents,
    _sub_rng,
)
from clauses.sample.deliveries import _Deliveries
from clauses.sample.headers import _HI_EMP, _HI_EMP_TYPE, _HI_HOURS, _HI_PARTICIPANT
from clauses.sample.model import _ConvRow, _Structure
from clauses.sample.reference import _QUALITATIF, _REGION_PLAN
from clauses.sample.styles import _make_style

log = logging.getLogger(__name__)


class _Registers(_Deliveries):
    @staticmethod
    def _conv_tuple(row: _ConvRow, s: _Structure, region: str | None = None) -> tuple[Any, ...]:
        obj = row.objectives or (None,) * 7
        return (
            row.num,
            row.millesime,
            region or row.region,
            s.siret,
            s.raison,
            int(s.cat),
            row.volet,
            row.etp,
            row.debut,
            row.fin,
            row.recrut,
            row.cout,
            row.subv,
            row.cofi,
            row.cofinanceurs,
            row.preexist,
            row.signature,
            row.avance,
            row.avenant,
            *obj,
        )

    def write_conventions(self) -> None:
        rng = _sub_rng(self.seed, "registers")
        for ri, region in enumerate(sorted(REGIONS)):
            preset = ("xlsx", "cp1252", "utf8bom")[ri % 3]
            for millesime in MILLESIMES:
                base = [
                    (st, s)
                    for s in self.by_region[region]
                    for st in s.strands
                    if st.row.millesime == millesime
                ]
                if not base:
                    continue
                rows = [self._conv_tuple(st.row, s) for st, s in base]
                receipt = date(millesime, 1, 8 + rng.randint(0, 17))
                stem = f"registre_conventions_{region}_{millesime}"
                self._write_register(region, receipt, stem, rows, preset, ["register_initial"])
                amended = [(st, s) for st, s in base if st.amendment is not None]
                if not amended:
                    continue
                when = max(st.amendment_date for st, _s in amended if st.amendment_date)
                amendments = [
                    self._conv_tuple(st.amendment, s) for st, s in amended if st.amendment
                ]
                if ri % 2 == 0:
                    self._write_register(
                        region,
                        when,
                        stem + "_avenants",
                        amendments,
                        preset,
                        ["register_avenants_only"],
                    )
                else:
                    full = sorted(rows + amendments, key=lambda r: (r[0], r[18]))
                    self._write_register(
                        region, when, stem + "_maj", full, preset, ["register_full_with_avenants"]
                    )

    def _write_register(
        self,
        region: str,
        receipt: date,
        stem: str,
        rows: list[tuple[Any, ...]],
        preset: str,
        tags: list[str],
        count: bool = True,
    ) -> str:
        style, k = self._style("reg_" + preset)
        style = _make_style(preset, k, region=region)
        style.personal = False
        style.header_only = False
        if style.fmt == "xlsx":
            name, service = REGIONS[region]
            titles = [
                f"{service} {name}",
                "Registre des conventions PNAD — facilitateurs des clauses sociales",
                f"Extraction du {receipt:%d/%m/%Y}",
                "",
                "Montants en euros",
                "",
                "",
                "",
                "",
                "",
            ]
            return self.write_xlsx(
                region,
                receipt,
                stem,
                [(Kind.CONVENTIONS, rows)],
                style,
                k,
                titles,
                tags,
                count=count,
            )
        return self.write_csv(
            region, receipt, stem, Kind.CONVENTIONS, rows, style, k, tags, count=count
        )[0]

    # ---- writing: bilans --------------------------------------------------------------------

    def _truth(self, s: _Structure, m0: int, m1: int) -> tuple[float, int, int, int, int, int]:
        hours = 0.0
        participants: set[str] = set()
        inclusive: set[str] = set()
        marches: set[tuple[Any, ...]] = set()
        contacts = partenariats = 0
        for m in range(m0, m1 + 1):
            for r in s.data[Kind.HEURES].get(m, ()):
                hours += r[_HI_HOURS]
                participants.add(r[_HI_PARTICIPANT])
                if r[_HI_EMP_TYPE] in INCLUSIVE_EMPLOYERS:
                    inclusive.add(r[_HI_EMP])
            for r in s.data[Kind.MARCHES].get(m, ()):
                marches.add((r[2], r[4], r[5]))
            contacts += len(s.data[Kind.CONTACTS].get(m, ()))
            partenariats += len(s.data[Kind.PARTENARIATS].get(m, ()))
        return hours, len(participants), len(inclusive), contacts, len(marches), partenariats

    def _bilan_row(
        self,
        rng: random.Random,
        s: _Structure,
        row: _ConvRow,
        kind: str,
        when: date,
        m0: int,
        m1: int,
        off: bool,
    ) -> tuple[Any, ...]:
        if row.volet == "coordinateur":
            values: tuple[float, ...] = (
                0.0,
                0.0,
                0.0,
                0.0,
                float(rng.randint(8, 40)),
                float(rng.randint(0, 12)),
                float(rng.randint(4, 20)),
            )
        else:
            hours, benef, incl, contacts, marches, parts = self._truth(s, m0, m1)
            if off:
                f = rng.choice((-1, 1)) * rng.uniform(0.07, 0.2)
                hours_d = round(hours * (1 + f) * 2) / 2
                benef_d = round(benef * (1 + rng.choice((0, f))))
            elif rng.random() < 0.5:
                hours_d, benef_d = hours, benef
            else:
                hours_d = round(hours * (1 + rng.uniform(-0.03, 0.03)) * 2) / 2
                benef_d = round(benef * (1 + rng.uniform(-0.03, 0.03)))
            values = (
                hours_d,
                float(benef_d),
                round(hours_d / 1607, 2),
                float(incl),
                float(contacts + rng.randint(-1, 2) if contacts else 0),
                float(marches),
                float(parts),
            )
        return (s.siret, row.num, row.millesime, kind, when, *values, rng.choice(_QUALITATIF))

    def write_bilans(self) -> None:
        rng = _sub_rng(self.seed, "bilans")
        # (region folder, receipt, structure or None) -> rows
        batches: dict[tuple[str, date, str], list[tuple[Any, ...]]] = {}
        owners: dict[tuple[str, date, str], _Structure] = {}
        for s in self.structures:
            shape = _REGION_PLAN[s.region][1]
            late_i = rng.random() < 0.15
            miss_i = rng.random() < 0.05
            miss_a = rng.random() < 0.06
            for st in s.strands:
                row = st.last
                m0, m1 = _mi(row.debut), _mi(row.fin)
                deadline = _add_months(row.debut, 7)
                if not miss_i:
                    if late_i:
                        when = deadline + timedelta(days=rng.randint(5, 60))
                    else:
                        when = _add_months(row.debut, 6) + timedelta(days=rng.randint(3, 24))
                        when = min(when, deadline - timedelta(days=1))
                    rows_i = self._bilan_row(
                        rng,
                        s,
                        row,
                        "intermédiaire",
                        when - timedelta(days=rng.randint(0, 4)),
                        m0,
                        min(m0 + 5, m1),
                        off=False,
                    )
                    self._batch(batches, owners, s, shape, when, rows_i)
                if not miss_a:
                    when = row.fin + timedelta(days=rng.randint(12, 75))
                    off = rng.random() < 0.08
                    rows_a = self._bilan_row(
                        rng, s, row, "annuel", when - timedelta(days=rng.randint(0, 6)), m0, m1, off
                    )
                    self._batch(batches, owners, s, shape, when, rows_a)
        for (folder, receipt, key), rows in sorted(batches.items(), key=lambda kv: kv[0]):
            if receipt > LAST_RECEIPT:
                continue
            s = owners[(folder, receipt, key)]
            if key == "*":
                preset = _REGION_PLAN[folder][3][0]
                preset = "xlsx" if preset == "xlsx_split" else preset
                stem = f"bilans_{folder}_{receipt.isoformat()}"
                tags = ["bilans_region_batch"]
            else:
                preset = s.preset
                types = sorted({r[3] for r in rows})
                stem = (
                    f"bilan_{'_'.join(_strip_accents(t) for t in types)}_{s.code}_{receipt:%Y%m%d}"
                )
                tags = ["bilans_structure_file"]
            style, k = self._style("bil_" + preset)
            style = _make_style(preset, k, region=folder)
            style.personal = False
            style.header_only = False
            if style.fmt == "xlsx":
                titles = self._titles(
                    "Bilans des conventions",
                    receipt.isoformat(),
                    receipt,
                    f"Structure : {s.raison}",
                )
                self.write_xlsx(
                    folder, receipt, stem, [(Kind.BILANS, rows)], style, k, titles, tags
                )
            else:
                self.write_csv(folder, receipt, stem, Kind.BILANS, rows, style, k, tags)

    @staticmethod
    def _batch(
        batches: dict[tuple[str, date, str], list[tuple[Any, ...]]],
        owners: dict[tuple[str, date, str], _Structure],
        s: _Structure,
        shape: str,
        when: date,
        row: tuple[Any, ...],
    ) -> None:
        if shape == "region":
            # the region collects reports and drops them on the 14th and the 28th
            when = (
                date(when.year, when.month, 14)
                if when.day <= 14
                else (
                    date(when.year, when.month, 28)
                    if when.day <= 28
                    else _month_start(_mi(when) + 1) + timedelta(days=13)
                )
            )
            key = (s.region, when, "*")
        else:
            key = (s.region, when, s.code)
        rows = batches.setdefault(key, [])
        if any(r[1] == row[1] and r[2] == row[2] and r[3] == row[3] for r in rows):
            return  # never twice the same (N° convention, Millésime, Type de bilan) in a file
        rows.append(row)
        owners.setdefault(key, s)

    # ---- defects ----------------------------------------------------------------------------
