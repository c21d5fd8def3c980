"""Files no facilitator should send, planted with the outcome the pipeline must give them
(quarantined or refused), when asked for (`defects=True`)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import xlsxwriter

from clauses.contract.kinds import (
    Kind,
)
from clauses.sample.basics import LAST_RECEIPT, _month_start, _sub_rng, _ym
from clauses.sample.headers import _HI_EMP, _HI_EMP_TYPE, _HI_HOURS
from clauses.sample.model import _Structure
from clauses.sample.registers import _Registers
from clauses.sample.styles import _layout, _make_style, _text_base

log = logging.getLogger(__name__)


class _Defects(_Registers):
    def write_defects(self) -> None:
        rng = _sub_rng(self.seed, "defects")

        def heures_rows(region: str) -> tuple[_Structure, int, list[tuple[Any, ...]]]:
            for s in self.by_region[region]:
                for m, rows in sorted(s.data[Kind.HEURES].items()):
                    if len(rows) >= 4 and _ym(m) >= "2024-06":
                        return s, m, list(rows[:12])
            raise AssertionError(f"no activity in region {region}")

        def later(m: int, days: int) -> date:
            return min(_month_start(m + 1) + timedelta(days=days), LAST_RECEIPT)

        def record(rel: str, outcome: str) -> None:
            self.defects[rel] = outcome

        plain = _make_style("cp1252", 0)
        plain.upper_ext = False
        plain.personal = plain.extra_col = plain.shuffle_cols = plain.drop_optional = False
        plain.siret_mode = "plain"
        # invalid SIRET
        s, m, rows = heures_rows("84")
        r = rows[1]
        bad_siret = r[_HI_EMP][:13] + str((int(r[_HI_EMP][13]) + 1) % 10)
        rows[1] = r[:_HI_EMP] + (bad_siret,) + r[_HI_EMP + 1 :]
        rel, _ = self.write_csv(
            "84", later(m, 25), "defaut_siret_invalide", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # value out of range
        s, m, rows = heures_rows("11")
        rows[0] = rows[0][:_HI_HOURS] + (900.0,) + rows[0][_HI_HOURS + 1 :]
        rel, _ = self.write_csv(
            "11", later(m, 26), "defaut_heures_hors_plage", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # unknown enumeration value
        s, m, rows = heures_rows("93")
        rows[2] = rows[2][:_HI_EMP_TYPE] + ("Auto-entrepreneur",) + rows[2][_HI_EMP_TYPE + 1 :]
        rel, _ = self.write_csv(
            "93", later(m, 24), "defaut_valeur_inconnue", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # duplicate rows
        s, m, rows = heures_rows("53")
        rows.append(rows[0])
        rel, _ = self.write_csv(
            "53", later(m, 27), "defaut_lignes_dupliquees", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # missing required column (a Marchés sheet without "Nature")
        s44 = self.by_region["44"][0]
        m44 = min(m for m, rows in s44.data[Kind.MARCHES].items() if rows and _ym(m) >= "2024-06")
        xl = _make_style("xlsx", 1)
        xl.extra_col = xl.personal = xl.drop_optional = xl.shuffle_cols = xl.notes_sheet = False
        xl.sheet_names = 0
        xl.header_mode = 0
        path, rel = self._path("44", later(m44, 25), "defaut_colonne_manquante.xlsx")
        wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
        wb.set_properties({"created": datetime(2024, 7, 1, 9, 0, 0)})
        ws = wb.add_worksheet("Marchés")
        layout = [c for c in _layout(Kind.MARCHES, xl, 0) if c[0] != "Nature"]
        for c, (h, _t, _g) in enumerate(layout):
            ws.write_string(0, c, h)
        for r_i, row in enumerate(s44.data[Kind.MARCHES][m44], start=1):
            for c, (_h, t, g) in enumerate(layout):
                v = g(row)
                if v is not None:
                    ws.write_string(r_i, c, _text_base(t, plain)(v))
        wb.close()
        self.files += 1
        record(rel, "quarantined")
        # conventions: duplicate key within the file
        region = "76"
        base = [
            (st, s) for s in self.by_region[region] for st in s.strands if st.row.millesime == 2025
        ]
        rows = [self._conv_tuple(st.row, s) for st, s in base]
        dup = list(rows[0])
        dup[7] = dup[7] + 0.5  # same key, another ETP
        rows.insert(1, tuple(dup))
        rel = self._write_register(
            region,
            date(2025, 3, 3),
            "defaut_conventions_cle_dupliquee",
            rows,
            "cp1252",
            [],
            count=False,
        )
        record(rel, "quarantined")
        # conventions: register of another region dropped here
        base = [
            (st, s) for s in self.by_region["28"] for st in s.strands if st.row.millesime == 2025
        ]
        rows = [self._conv_tuple(st.row, s) for st, s in base]
        rel = self._write_register(
            "27", date(2025, 2, 4), "defaut_code_region_autre", rows, "xlsx", [], count=False
        )
        record(rel, "quarantined")
        # not a CSV at all
        garbage = bytes([0x00, 0x81, 0x8D, 0xFF, 0xFE, 0x00, 0x9D]) + rng.randbytes(4096)
        path, rel = self._path("24", date(2024, 11, 5), "defaut_pas_un_csv.csv")
        path.write_bytes(garbage)
        self.files += 1
        record(rel, "refused")
        # a PDF
        path, rel = self._path("32", date(2025, 5, 12), "defaut_document.pdf")
        path.write_bytes(
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
        )
        self.files += 1
        record(rel, "refused")
        # a CSV of no known kind
        path, rel = self._path("52", date(2025, 1, 20), "defaut_sans_type.csv")
        path.write_bytes(
            "Code;Libellé;Commentaire\r\nA1;Réunion de réseau;RAS\r\n"
            "A2;Comité de pilotage;reporté\r\n".encode("cp1252")
        )
        self.files += 1
        record(rel, "refused")
        # an empty file
        path, rel = self._path("75", date(2024, 9, 16), "defaut_fichier_vide.csv")
        path.write_bytes(b"")
        self.files += 1
        record(rel, "refused")

    # ---- summary ----------------------------------------------------------------------------
