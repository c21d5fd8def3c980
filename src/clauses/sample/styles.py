"""File styles (contract §3 variants): encodings, separators, number, date and month forms,
and the CSV and XLSX writers of a kind's rows."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from clauses.contract.kinds import (
    Kind,
)
from clauses.sample.basics import _month_start, _strip_accents
from clauses.sample.headers import (
    _ACTIVITY,
    _EXTRA_HEADERS,
    _EXTRA_VALUES,
    _HI_ANNEE,
    _HI_PARTICIPANT,
    _HI_SEXE,
    HEADERS,
)
from clauses.sample.reference import _NOMS, _PRENOMS_F, _PRENOMS_H

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# File styles (contract §3 variants)
# --------------------------------------------------------------------------------------------


@dataclass
class _Style:
    preset: str
    fmt: str  # csv | xlsx
    encoding: str = "utf-8"
    sep: str = ";"
    dec: str = ","
    th: str = ""
    eol: str = "\n"
    date_fmt: str = "dmy"  # dmy | iso | cell
    month_fmt: str = "ym"  # ym | my | date_dmy | date_iso | cell
    list_sep: str = "|"
    header_mode: int = 0  # 0-3 one variant for all columns, 4 mixed
    enum_mode: int = -1  # -1: canonical values
    siret_mode: str = "plain"  # plain | spaces | lost_zeros | number
    extra_col: bool = False
    personal: bool = False
    upper_ext: bool = False
    shuffle_cols: bool = False
    drop_optional: bool = False
    title_rows: int = 0
    total_row: bool = False
    blank_rows: bool = False
    numbers_as_text: bool = False
    formulas: bool = False
    notes_sheet: bool = False
    sheet_names: int = 0  # index in _SHEET_NAMES
    header_only: bool = False

    def tags(self, kinds: Iterable[Kind]) -> list[str]:
        """Variant classes this file carries (for GenerateSummary.variants)."""
        kinds = list(kinds)
        big_numbers = any(k in (Kind.MARCHES, Kind.BILANS, Kind.CONVENTIONS) for k in kinds)
        tags: list[str] = []
        if self.fmt == "csv":
            tags.append(
                {"cp1252": "csv_cp1252", "utf-8-sig": "csv_utf8_bom", "utf-8": "csv_utf8"}[
                    self.encoding
                ]
            )
            tags.append(
                {";": "csv_sep_semicolon", ",": "csv_sep_comma", "\t": "csv_sep_tab"}[self.sep]
            )
            tags.append("decimal_comma" if self.dec == "," else "decimal_point")
            if big_numbers and self.th:
                tags.append(
                    {
                        " ": "thousands_space",
                        "\u00a0": "thousands_nbsp",
                        "\u202f": "thousands_nnbsp",
                    }[self.th]
                )
            if self.eol == "\r\n":
                tags.append("csv_crlf")
            if self.siret_mode == "lost_zeros":
                tags.append("siret_lost_zeros_text")
        else:
            tags.append("xlsx")
            if self.title_rows:
                tags.append("xlsx_title_rows")
            if self.total_row:
                tags.append("xlsx_total_row")
            if self.blank_rows:
                tags.append("xlsx_blank_rows")
            if self.numbers_as_text:
                tags.append("xlsx_numbers_as_text")
            if self.formulas and (Kind.HEURES in kinds or Kind.BILANS in kinds):
                tags.append("xlsx_formula_cells")
            if self.notes_sheet:
                tags.append("xlsx_notes_sheet")
            if self.siret_mode == "number":
                tags.append("xlsx_siret_as_number")
            tags.append(
                "xlsx_sheet_"
                + ("canonical_name", "name_case_variant", "recognised_by_columns")[self.sheet_names]
            )
        if self.fmt == "xlsx" and self.date_fmt == "cell":
            tags.append("xlsx_date_cells")
        else:
            tags.append("date_" + self.date_fmt)
            if self.fmt == "xlsx":
                tags.append("xlsx_text_dates")
        if any(k in _ACTIVITY for k in kinds):
            tags.append("month_" + self.month_fmt)
        if self.header_mode:
            tags.append("header_spelling_variants")
        if self.enum_mode >= 0:
            tags.append("enum_case_accent_variants")
        if self.siret_mode == "spaces":
            tags.append("siret_with_spaces")
        if self.extra_col:
            tags.append("unknown_extra_column")
        if self.personal and Kind.HEURES in kinds:
            tags.append("personal_data_columns")
        if self.upper_ext:
            tags.append("upper_case_extension")
        if self.shuffle_cols:
            tags.append("column_order_shuffled")
        if self.drop_optional:
            tags.append("optional_columns_absent")
        if self.list_sep == "," and Kind.HEURES in kinds:
            tags.append("public_list_comma")
        return tags


_CSV_PRESETS: dict[str, _Style] = {
    "cp1252": _Style("cp1252", "csv", encoding="cp1252", sep=";", dec=",", eol="\r\n"),
    "utf8bom": _Style("utf8bom", "csv", encoding="utf-8-sig", sep=",", dec=".", th=""),
    "tab": _Style("tab", "csv", encoding="utf-8", sep="\t", dec=","),
    "nnbsp": _Style("nnbsp", "csv", encoding="utf-8", sep=";", dec=",", th="\u202f"),
}


def _make_style(preset: str, k: int, *, region: str = "") -> _Style:
    """The k-th file style of a preset: flags cycle so that every variant appears early."""
    if preset in _CSV_PRESETS:
        st = dataclasses.replace(_CSV_PRESETS[preset])
        if preset == "cp1252":
            st.th = (" ", "\u00a0", "")[k % 3]
        elif preset == "tab":
            st.dec = (",", ".")[k % 2]
        st.date_fmt = ("dmy", "iso")[k % 2]
        st.month_fmt = ("ym", "my", "date_dmy", "ym", "date_iso")[k % 5]
        st.siret_mode = ("plain", "plain", "spaces", "lost_zeros")[k % 4]
        st.upper_ext = region == "44" or k % 13 == 5
    else:
        st = _Style(preset=preset, fmt="xlsx")
        st.date_fmt = ("cell", "dmy", "cell", "iso")[k % 4]
        st.month_fmt = ("cell", "ym", "my", "cell", "date_dmy")[k % 5]
        st.siret_mode = ("number", "plain", "number", "spaces")[k % 4]
        st.title_rows = (0, 3, 1, 10, 5, 0, 2)[k % 7]
        st.total_row = k % 2 == 0
        st.blank_rows = k % 3 == 1
        st.numbers_as_text = k % 4 == 3
        st.formulas = k % 5 == 2
        st.notes_sheet = k % 3 == 0
        st.sheet_names = (0, 2, 1)[k % 3]
        st.upper_ext = k % 17 == 8
    st.header_mode = (0, 1, 2, 3, 4)[k % 5]
    st.enum_mode = (k // 3) % 5 if k % 3 == 1 else -1
    st.extra_col = k % 4 == 2
    st.personal = k % 19 == 3
    st.shuffle_cols = k % 7 == 4
    st.drop_optional = k % 6 == 5
    st.list_sep = ("|", ",")[k % 2]
    st.header_only = k % 9 == 0
    return st


def _fmt_number(x: float, dec: str, th: str, ndigits: int | None = None) -> str:
    if ndigits is None:
        if x == int(x):
            s = f"{int(x):,d}"
        else:
            s = f"{x:,.2f}".rstrip("0")
    else:
        s = f"{x:,.{ndigits}f}"
    return s.replace(",", "\x00").replace(".", dec).replace("\x00", th)


def _enum_tx(value: str, mode: int) -> str:
    if mode == 0:
        return value.lower()  # "cdi"
    if mode == 1:
        return _strip_accents(value).upper()  # "INTERIM"
    if mode == 2:
        return _strip_accents(value).lower()  # "collectivite territoriale"
    if mode == 3:
        return f" {value} "
    return value.upper()  # "INTÉRIM"


def _siret_text(siret: str, mode: str) -> str:
    if mode == "spaces":
        return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    if mode in ("lost_zeros", "number"):
        return str(int(siret))
    return siret


def _month_text(m: int, mode: str) -> str:
    y, mo = m // 12, m % 12 + 1
    if mode == "my":
        return f"{mo:02d}/{y:04d}"
    if mode == "date_dmy":
        return f"01/{mo:02d}/{y:04d}"
    if mode == "date_iso":
        return f"{y:04d}-{mo:02d}-01"
    return f"{y:04d}-{mo:02d}"


def _date_text(d: date, mode: str) -> str:
    return d.isoformat() if mode == "iso" else d.strftime("%d/%m/%Y")


def _text_base(ctype: str, style: _Style) -> Callable[[Any], str]:
    """Raw value -> its text form in a file of this style."""
    if ctype == "siret":
        mode = style.siret_mode
        return lambda v: _siret_text(v, mode)
    if ctype == "month":
        mode = "date_dmy" if style.month_fmt == "cell" else style.month_fmt
        return lambda v: _month_text(v, mode)
    if ctype == "date":
        mode = "dmy" if style.date_fmt == "cell" else style.date_fmt
        return lambda v: _date_text(v, mode)
    if ctype == "num":
        dec, th = style.dec, style.th
        return lambda v: _fmt_number(v, dec, th)
    if ctype == "amount":
        dec, th = style.dec, style.th
        return lambda v: _fmt_number(v / 100, dec, th, 2)
    if ctype == "enum":
        if style.enum_mode < 0:
            return str
        enum_mode = style.enum_mode
        return lambda v: _enum_tx(v, enum_mode)
    if ctype == "list":
        joiner, list_mode = style.list_sep, style.enum_mode
        if list_mode < 0:
            return lambda v: joiner.join(v)
        return lambda v: joiner.join(_enum_tx(x, list_mode).strip() for x in v)
    return str


def _csv_cell(ctype: str, style: _Style) -> Callable[[Any], str]:
    """Raw value -> CSV field (quoted when needed), memoised."""
    base = _text_base(ctype, style)
    sep = style.sep
    cache: dict[Any, str] = {}

    def cell(v: Any) -> str:
        if v is None:
            return ""
        out = cache.get(v)
        if out is None:
            out = base(v)
            if sep in out or '"' in out or "\n" in out:
                out = '"' + out.replace('"', '""') + '"'
            cache[v] = out
        return out

    return cell


# A column of an output table: header, type, value getter
_OutCol = tuple[str, str, Callable[[tuple[Any, ...]], Any]]


def _personal_getters() -> list[_OutCol]:
    def parts(row: tuple[Any, ...]) -> tuple[str, str, date, str]:
        n = int(str(row[_HI_PARTICIPANT]).rsplit("-", 1)[1])
        nom = _NOMS[(n * 7) % len(_NOMS)]
        prenoms = _PRENOMS_F if row[_HI_SEXE] == "F" else _PRENOMS_H
        prenom = prenoms[(n * 3) % len(prenoms)]
        born = date(row[_HI_ANNEE] or 1985, n % 12 + 1, n % 28 + 1)
        mail = _strip_accents(f"{prenom}.{nom}{n % 100}@exemple.fr").lower().replace("'", "")
        return nom, prenom, born, mail

    return [
        ("Nom", "text", lambda r: parts(r)[0]),
        ("Prénom", "text", lambda r: parts(r)[1]),
        ("Date de naissance", "date", lambda r: parts(r)[2]),
        ("Courriel", "text", lambda r: parts(r)[3]),
    ]


def _layout(kind: Kind, style: _Style, k: int) -> list[_OutCol]:
    """The output columns of a table of `kind` in a file of `style`."""
    out: list[_OutCol] = []
    cols = [
        (i, c) for i, c in enumerate(HEADERS[kind]) if not (style.drop_optional and c.droppable)
    ]
    for j, (i, col) in enumerate(cols):
        mode = style.header_mode if style.header_mode < 4 else j % 4
        out.append((col.headers[mode], col.ctype, itemgetter(i)))
        if kind is Kind.HEURES and style.personal and col.key == "id_participant":
            out.extend(_personal_getters())
    if style.extra_col:
        values = itertools.cycle(_EXTRA_VALUES)
        header = _EXTRA_HEADERS[(k // 4) % len(_EXTRA_HEADERS)]
        out.insert(min(3, len(out)), (header, "text", lambda _r: next(values) or None))
    if style.shuffle_cols:
        out = out[1::2] + out[0::2]
    return out


def _csv_bytes(kind: Kind, rows: Sequence[tuple[Any, ...]], style: _Style, k: int) -> bytes:
    layout = _layout(kind, style, k)
    sep = style.sep
    header_cell = _csv_cell("text", style)
    lines = [sep.join(header_cell(h) for h, _t, _g in layout)]
    pairs = [(_csv_cell(t, style), g) for _h, t, g in layout]
    for row in rows:
        lines.append(sep.join([f(g(row)) for f, g in pairs]))
    text = style.eol.join(lines) + style.eol
    return text.encode(style.encoding)


def _xlsx_num_literal(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


class _XlsxSheetWriter:
    """Writes one table into one worksheet with the variants of a style."""

    def __init__(self, wb: xlsxwriter.Workbook, style: _Style) -> None:
        self.wb = wb
        self.style = style
        self.f_date = wb.add_format({"num_format": "dd/mm/yyyy"})
        self.f_month = wb.add_format({"num_format": "mm/yyyy"})
        self.f_money = wb.add_format({"num_format": "#,##0.00"})
        self.f_head = wb.add_format({"bold": True})
        self.f_title = wb.add_format({"bold": True, "font_size": 13})

    def _cell_fn(self, ws: Any, ctype: str) -> Callable[[int, int, Any], None]:
        st = self.style
        text = _text_base(ctype, st)
        french = _Style(preset="x", fmt="csv", dec=",", th=" ")
        if ctype == "siret":
            if st.siret_mode == "number":
                return lambda r, c, v: ws.write_number(r, c, int(v))
            return lambda r, c, v: ws.write_string(r, c, text(v))
        if ctype == "month":
            if st.month_fmt == "cell":
                f = self.f_month
                return lambda r, c, v: ws.write_datetime(r, c, _month_start(v), f)
            return lambda r, c, v: ws.write_string(r, c, text(v))
        if ctype == "date":
            if st.date_fmt == "cell":
                f = self.f_date
                return lambda r, c, v: ws.write_datetime(r, c, v, f)
            return lambda r, c, v: ws.write_string(r, c, text(v))
        if ctype in ("num", "amount", "int"):
            scale = 100 if ctype == "amount" else 1
            fmt = self.f_money if ctype == "amount" else None
            as_text = str if ctype == "int" else _text_base(ctype, french)
            numbers_as_text, formulas = st.numbers_as_text, st.formulas and ctype == "num"

            def write_num(r: int, c: int, v: Any) -> None:
                if numbers_as_text and r % 7 == 3:
                    ws.write_string(r, c, as_text(v))
                elif formulas and r % 29 == 5 and v >= 2:
                    x = v / scale
                    a = math.floor(x / 2)
                    ws.write_formula(r, c, f"={a}+{_xlsx_num_literal(x - a)}", fmt, x)
                else:
                    ws.write_number(r, c, v / scale, fmt)

            return write_num
        return lambda r, c, v: ws.write_string(r, c, text(v))

    def write(
        self, ws: Any, kind: Kind, rows: Sequence[tuple[Any, ...]], k: int, titles: Sequence[str]
    ) -> None:
        st = self.style
        layout = _layout(kind, st, k)
        r = 0
        for line in titles[: st.title_rows]:
            if line:
                ws.write_string(r, 0, line, self.f_title)
            r += 1
        for c, (header, _t, _g) in enumerate(layout):
            ws.write_string(r, c, header, self.f_head)
        r += 1
        if st.blank_rows:
            r += 1
        first = r
        writers = [(c, self._cell_fn(ws, t), g) for c, (_h, t, g) in enumerate(layout)]
        for i, row in enumerate(rows):
            if st.blank_rows and i and i % 97 == 0:
                r += 1
            for c, w, g in writers:
                v = g(row)
                if v is not None:
                    w(r, c, v)
            r += 1
        if st.total_row and rows:
            last = r - 1
            if st.blank_rows:
                r += 1
            ws.write_string(r, 0, ("Total", "TOTAL GÉNÉRAL", "Total général")[k % 3])
            for c, (_h, t, g) in enumerate(layout):
                if c == 0 or t not in ("num", "amount"):
                    continue
                values = [g(row) for row in rows]
                total = sum(v for v in values if v is not None)
                if t == "amount":
                    total = total / 100
                col = xl_col_to_name(c)
                ws.write_formula(
                    r,
                    c,
                    f"=SUM({col}{first + 1}:{col}{last + 1})",
                    self.f_money if t == "amount" else None,
                    round(total, 2),
                )
