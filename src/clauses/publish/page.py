"""A one-page visual summary of a region as of a date: a self-contained HTML5 document.

The page is meant to be looked at rather than read: a header (region, as-of date, rules
version), key-figure tiles, then four charts drawn as inline SVG by this module:

(a) realised vs objective per FTE for each indicator, normalised so that the objective is 100 %;
(b) balance-payment decisions: number of strands and proposed amount per decision;
(c) insertion hours per month;
(d) files received per month, loaded vs quarantined or refused.

Everything works offline: inline CSS, no JavaScript, no external font or image, no URL at all.
Every text that comes from data is escaped (some of it comes from files sent by outsiders),
and C0 control characters are removed. Every text the reader sees is in French.
"""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from clauses.contract.french import NARROW_NBSP, french_number
from clauses.contract.vocabulary import DECISIONS, Decision

__all__ = [
    "IndicatorBar",
    "SummaryData",
    "french_number",
    "render_summary_page",
]

log = logging.getLogger(__name__)

EMPTY_TEXT = "aucune donnée"

# Geometry of every chart, in SVG user units (the SVG is scaled to the page width).
VIEW_W = 760
FONT = 12
SMALL = 11
CHAR_W = 0.62  # average advance of a sans-serif glyph, as a fraction of the font size

# Colours
INK = "#1e1e1e"
MUTED = "#5a5a5a"
GRID = "#dde1e8"
BLUE = "#000091"  # "bleu France"
LIGHT = "#b8c0d4"
DECISION_COLOURS: dict[str, str] = {
    Decision.LIBERABLE: "#2e7d32",
    Decision.A_EXAMINER: "#e67e00",
    Decision.SUSPENDU: "#c62828",
    Decision.REVERSEMENT: "#6a1b9a",
    Decision.EN_COURS: "#8a8a8a",
}
OTHER_DECISION = "#455a64"
LOADED = "#3a6fb0"
PROBLEM = "#c62828"

MONTHS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DIGIT_GROUP = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")


@dataclass
class IndicatorBar:
    """One indicator of the convention: realised and objective values per FTE."""

    label: str  # e.g. "Heures d'insertion"
    realised_per_fte: float | None  # realised per FTE in post (region aggregate)
    objective_per_fte: float | None  # objective per FTE (None when no objective)


@dataclass
class SummaryData:
    """What the summary page shows; texts may come from outsiders and are escaped."""

    title: str  # e.g. "Île-de-France (11)"
    as_of: date
    key_figures: list[tuple[str, str]] = field(default_factory=list)  # (label, formatted value)
    indicators: list[IndicatorBar] = field(default_factory=list)
    # (décision, number of strands, proposed amount in euros; negative for 'reversement')
    decisions: list[tuple[str, int, Decimal]] = field(default_factory=list)
    monthly_hours: list[tuple[str, float]] = field(default_factory=list)  # ("AAAA-MM", hours)
    # ("AAAA-MM", files loaded, files quarantined or refused)
    monthly_files: list[tuple[str, int, int]] = field(default_factory=list)
    rules_version: str = ""


# --------------------------------------------------------------------------------------------
# Texts and numbers
# --------------------------------------------------------------------------------------------


def _clean(text: object) -> str:
    """A text without C0 control characters (tab, newline and carriage return are kept)."""
    return _CONTROL.sub("", str(text))


def _esc(text: object) -> str:
    """A text safe in HTML content and in a quoted attribute."""
    return html.escape(_clean(text), quote=True)


def _finite(value: object) -> float | None:
    """The value as a finite float, or None (None, NaN, infinity, or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, InvalidOperation):
        log.warning("summary page: %r is not a number, shown as missing", value)
        return None
    if not math.isfinite(number):
        return None
    return number


def _per_fte(value: float) -> str:
    """A per-FTE value: 2 decimals below 10 (0,25 market per FTE), 1 above."""
    return french_number(value, 2 if abs(value) < 10 else 1)


def _percent(ratio: float) -> str:
    return f"{french_number(ratio * 100, 0)}{NARROW_NBSP}%"


def _euros(value: Decimal | float) -> str:
    return f"{french_number(value, 2)}{NARROW_NBSP}€"


def _compact(value: float) -> str:
    """A short axis label: '120 000', '1,25 M'."""
    if abs(value) >= 1_000_000:
        return f"{french_number(value / 1_000_000, 2).rstrip('0').rstrip(',')}{NARROW_NBSP}M"
    return french_number(value, 0)


def _month_parts(key: str) -> tuple[str, str | None]:
    """('mars', '2025') for '2025-03'; an unreadable key is shown as is, without a year."""
    match = _MONTH.match(key.strip())
    if match and 1 <= int(match.group(2)) <= 12:
        return MONTHS[int(match.group(2)) - 1], match.group(1)
    return _shorten(key, 8), None


def _month_name(key: str) -> str:
    month, year = _month_parts(key)
    return f"{month} {year}" if year else month


def _shorten(text: str, max_chars: int) -> str:
    text = " ".join(_clean(text).split())
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def _wrap(text: str, max_chars: int, max_lines: int = 2) -> list[str]:
    """Cut a label into at most ``max_lines`` lines of ``max_chars``; the last one may end in …"""
    # "1 607 heures" is never cut between "1" and "607"
    words = _DIGIT_GROUP.sub("\u00a0", " ".join(_clean(text).split())).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if len(candidate) <= max_chars or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
    return [_shorten(line, max_chars) for line in lines]


def _text_width(text: str, size: float = FONT) -> float:
    return len(text) * size * CHAR_W


# --------------------------------------------------------------------------------------------
# SVG pieces
# --------------------------------------------------------------------------------------------


def _num(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: float = FONT,
    fill: str = INK,
    bold: bool = False,
    italic: bool = False,
    halo: bool = False,
) -> str:
    """A text element; ``halo`` outlines it in white so that gridlines never cross it."""
    style = ""
    if bold:
        style += ' font-weight="bold"'
    if italic:
        style += ' font-style="italic"'
    if halo:
        style += ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{_num(size)}" '
        f'fill="{fill}"{style}>{_esc(content)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, tooltip: str | None = None) -> str:
    attrs = (
        f'x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0.0))}" height="{_num(max(h, 0.0))}" '
        f'fill="{fill}"'
    )
    if tooltip is None:
        return f"<rect {attrs}/>"
    return f"<rect {attrs}><title>{_esc(tooltip)}</title></rect>"


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, dash: bool = False) -> str:
    extra = ' stroke-dasharray="4 3"' if dash else ""
    return (
        f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
        f'stroke="{stroke}" stroke-width="1"{extra}/>'
    )


def _svg(height: float, aria_label: str, body: Sequence[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {VIEW_W} {_num(height)}" width="{VIEW_W}" '
        f'height="{_num(height)}" role="img" aria-label="{_esc(aria_label)}">'
        + "".join(body)
        + "</svg>"
    )


def _empty_svg(aria_label: str) -> str:
    body = [
        _rect(0, 0, VIEW_W, 60, "#f6f7f9"),
        _text(VIEW_W / 2, 35, EMPTY_TEXT, anchor="middle", size=14, fill=MUTED, italic=True),
    ]
    return _svg(60, f"{aria_label} : {EMPTY_TEXT}", body)


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    """Coloured squares and their labels on one line, from (x, y) (y = text baseline)."""
    parts: list[str] = []
    for label, colour in items:
        parts.append(_rect(x, y - 10, 12, 12, colour))
        parts.append(_text(x + 17, y, label, size=SMALL))
        x += 17 + _text_width(label, SMALL) + 22
    return parts


def _nice_step(maximum: float, ticks: int = 4) -> float:
    """A round axis step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


# --------------------------------------------------------------------------------------------
# (a) Indicators: realised vs objective, per FTE
# --------------------------------------------------------------------------------------------

IND_LABEL_CHARS = 25
IND_X0 = 200
IND_BAR_W = 380
IND_ROW_H = 54
IND_TOP = 50
IND_CAP = 2.0  # the axis stops at 200 % of the objective; longer bars are cut


def _indicator_chart(indicators: Sequence[IndicatorBar]) -> str:
    name = "Réalisé par ETP en poste rapporté à l'objectif, par indicateur"
    if not indicators:
        return _empty_svg(name)
    rows = []
    for item in indicators:
        realised = _finite(item.realised_per_fte)
        objective = _finite(item.objective_per_fte)
        ratio = None
        if realised is not None and objective is not None and objective > 0:
            ratio = max(realised, 0.0) / objective
        rows.append((_clean(item.label), realised, objective, ratio))
    largest = max([1.0] + [r for *_, r in rows if r is not None])
    axis_max = min(IND_CAP, math.ceil(largest * 2) / 2)
    scale = IND_BAR_W / axis_max
    bottom = IND_TOP + len(rows) * IND_ROW_H
    height = bottom + 8

    body: list[str] = _legend(
        0,
        16,
        [("Réalisé par ETP en poste", BLUE), (f"Objectif par ETP (= 100{NARROW_NBSP}%)", LIGHT)],
    )
    tick = 0.0
    while tick <= axis_max + 1e-9:
        x = IND_X0 + tick * scale
        body.append(_line(x, IND_TOP - 4, x, bottom, BLUE if tick == 1.0 else GRID, tick == 1.0))
        body.append(_text(x, IND_TOP - 10, _percent(tick), anchor="middle", size=SMALL, fill=MUTED))
        tick += 0.5

    aria: list[str] = []
    for index, (label, realised, objective, ratio) in enumerate(rows):
        y = IND_TOP + index * IND_ROW_H
        if index:
            body.append(_line(0, y, VIEW_W, y, "#eef0f4"))
        lines = _wrap(label, IND_LABEL_CHARS, max_lines=3)
        first = y + IND_ROW_H / 2 + 4 - (len(lines) - 1) * 7
        for number, line in enumerate(lines):
            body.append(_text(0, first + number * 14, line, bold=True))
        bar_y, obj_y = y + 9, y + 29
        if realised is None:
            body.append(_text(IND_X0, bar_y + 12, "réalisé non renseigné", fill=MUTED, italic=True))
            aria.append(f"{label} : réalisé non renseigné")
        elif ratio is None:
            body.append(_text(IND_X0, bar_y + 12, f"réalisé {_per_fte(realised)} par ETP"))
            aria.append(f"{label} : {_per_fte(realised)} par ETP")
        else:
            length = min(ratio, axis_max) * scale
            tooltip = f"{label} : {_per_fte(realised)} par ETP, {_percent(ratio)} de l'objectif"
            body.append(_rect(IND_X0, bar_y, length, 15, BLUE, tooltip))
            end = IND_X0 + length
            if ratio > axis_max:  # cut bar: a white notch marks the break
                body.append(
                    f'<polygon points="{_num(end - 14)},{_num(bar_y - 1)} {_num(end - 8)},'
                    f"{_num(bar_y - 1)} {_num(end - 12)},{_num(bar_y + 16)} "
                    f'{_num(end - 18)},{_num(bar_y + 16)}" fill="#ffffff"/>'
                )
            body.append(
                _text(
                    end + 6,
                    bar_y + 12,
                    f"{_per_fte(realised)} ({_percent(ratio)})",
                    bold=True,
                    halo=True,
                )
            )
            aria.append(f"{label} : {_per_fte(realised)} par ETP, {_percent(ratio)} de l'objectif")
        if objective is None:
            body.append(_text(IND_X0, obj_y + 12, "sans objectif", fill=MUTED, italic=True))
        elif objective <= 0:
            body.append(_text(IND_X0, obj_y + 12, "objectif nul", fill=MUTED, italic=True))
        else:
            body.append(_rect(IND_X0, obj_y, scale, 15, LIGHT, f"objectif {_per_fte(objective)}"))
            body.append(
                _text(
                    IND_X0 + scale + 6,
                    obj_y + 12,
                    f"objectif {_per_fte(objective)}",
                    fill=MUTED,
                    halo=True,
                )
            )
    return _svg(height, f"{name}. " + " ; ".join(aria), body)


# --------------------------------------------------------------------------------------------
# (b) Decisions: number of strands and proposed amount
# --------------------------------------------------------------------------------------------

DEC_COUNT_X = 130
DEC_COUNT_W = 150
DEC_AMOUNT_X = 390
DEC_AMOUNT_W = 230
DEC_TOP = 34
DEC_ROW_H = 32


def _decision_colour(decision: str) -> str:
    return DECISION_COLOURS.get(decision.strip().casefold(), OTHER_DECISION)


def _decision_rank(decision: str) -> int:
    key = decision.strip().casefold()
    return DECISIONS.index(Decision(key)) if key in DECISIONS else len(DECISIONS)


def _decision_chart(decisions: Sequence[tuple[str, int, Decimal]]) -> str:
    name = "Nombre de volets et montant proposé par décision"
    if not decisions:
        return _empty_svg(name)
    rows: list[tuple[str, int, float | None, Decimal | float | None]] = []
    for decision, count, amount in sorted(decisions, key=lambda row: _decision_rank(row[0])):
        number = _finite(count)
        value = _finite(amount)
        rows.append(
            (
                _clean(decision),
                int(number) if number is not None else 0,
                value,
                amount if value is not None and isinstance(amount, Decimal) else value,
            )
        )
    max_count = max([row[1] for row in rows] + [1])
    amounts = [row[2] for row in rows if row[2] is not None]
    low, high = min(amounts + [0.0]), max(amounts + [0.0])
    span = (high - low) or 1.0
    zero_x = DEC_AMOUNT_X + (-low) / span * DEC_AMOUNT_W
    bottom = DEC_TOP + len(rows) * DEC_ROW_H
    height = bottom + 6

    body = [
        _text(0, 16, "Décision", size=SMALL, fill=MUTED, bold=True),
        _text(DEC_COUNT_X, 16, "Nombre de volets", size=SMALL, fill=MUTED, bold=True),
        _text(DEC_AMOUNT_X, 16, "Montant proposé", size=SMALL, fill=MUTED, bold=True),
        _line(zero_x, DEC_TOP - 6, zero_x, bottom, "#9aa3b5"),
    ]
    aria: list[str] = []
    for index, (decision, count, value, exact) in enumerate(rows):
        y = DEC_TOP + index * DEC_ROW_H
        colour = _decision_colour(decision)
        label = _shorten(decision, 13)
        body.append(_rect(0, y + 7, 10, 10, colour))
        body.append(_text(16, y + 16, label, bold=True))
        length = max(count, 0) / max_count * DEC_COUNT_W
        tooltip = f"{decision} : {french_number(count, 0)} volet(s)"
        body.append(_rect(DEC_COUNT_X, y + 3, length, 18, colour, tooltip))
        body.append(_text(DEC_COUNT_X + length + 6, y + 16, french_number(count, 0), bold=True))
        if value is None or exact is None:
            body.append(_text(zero_x + 6, y + 16, "montant non renseigné", fill=MUTED, italic=True))
            aria.append(f"{decision} : {french_number(count, 0)} volet(s), montant non renseigné")
            continue
        size = abs(value) / span * DEC_AMOUNT_W
        start = zero_x - size if value < 0 else zero_x
        body.append(_rect(start, y + 3, size, 18, colour, f"{decision} : {_euros(exact)}"))
        text_x = zero_x + 6 if value < 0 else zero_x + size + 6
        body.append(_text(text_x, y + 16, _euros(exact)))
        aria.append(f"{decision} : {french_number(count, 0)} volet(s), {_euros(exact)}")
    return _svg(height, f"{name}. " + " ; ".join(aria), body)


# --------------------------------------------------------------------------------------------
# (c), (d) Column charts per month
# --------------------------------------------------------------------------------------------

COL_LEFT = 66
COL_RIGHT = VIEW_W - 6
COL_TOP = 40
COL_BOTTOM = 232
COL_HEIGHT = 270


def _column_chart(
    name: str,
    months: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    decimals: int,
    unit: str,
    value_labels_up_to: int,
) -> str:
    """Columns per month, the series stacked bottom to top, with a legend when there are two."""
    count = len(months)
    totals = [sum(max(values[i], 0.0) for _, _, values in series) for i in range(count)]
    step = _nice_step(max(totals + [0.0]))
    axis_max = max(step, math.ceil(max(totals + [0.0]) / step) * step)
    scale = (COL_BOTTOM - COL_TOP) / axis_max
    slot = (COL_RIGHT - COL_LEFT) / count
    width = min(slot * 0.68, 60.0)

    body: list[str] = [_text(COL_LEFT - 6, 16, unit, anchor="end", size=SMALL, fill=MUTED)]
    if len(series) > 1:
        body += _legend(COL_LEFT + 10, 16, [(label, colour) for label, colour, _ in series])
    tick = 0.0
    while tick <= axis_max + step / 1000:
        y = COL_BOTTOM - tick * scale
        body.append(_line(COL_LEFT, y, COL_RIGHT, y, "#9aa3b5" if tick == 0 else GRID))
        body.append(
            _text(COL_LEFT - 6, y + 4, _compact(tick), anchor="end", size=SMALL, fill=MUTED)
        )
        tick += step

    label_every = max(1, math.ceil(count / 12))
    for i, key in enumerate(months):
        centre = COL_LEFT + (i + 0.5) * slot
        y = COL_BOTTOM
        for label, colour, values in series:
            value = max(values[i], 0.0)
            height = value * scale
            tooltip = f"{_month_name(key)} : {french_number(values[i], decimals)} {label}"
            if height > 0:
                body.append(_rect(centre - width / 2, y - height, width, height, colour, tooltip))
            y -= height
        if count <= value_labels_up_to:
            body.append(
                _text(
                    centre,
                    y - 5,
                    _compact(totals[i]) if decimals == 0 else french_number(totals[i], decimals),
                    anchor="middle",
                    size=SMALL,
                    bold=True,
                    halo=True,
                )
            )
        month, year = _month_parts(key)
        if i % label_every == 0:
            body.append(_text(centre, COL_BOTTOM + 16, month, anchor="middle", size=SMALL))
            if year and (i == 0 or month == MONTHS[0]):
                body.append(
                    _text(centre, COL_BOTTOM + 31, year, anchor="middle", size=SMALL, fill=MUTED)
                )
    total = sum(totals)
    first, last = _month_name(months[0]), _month_name(months[-1])
    aria = f"{name}, de {first} à {last} : total {french_number(total, decimals)} {unit}"
    if len(series) > 1:
        parts = [
            f"{french_number(sum(max(v, 0.0) for v in values), decimals)} {label}"
            for label, _, values in series
        ]
        aria += " (" + ", ".join(parts) + ")"
    return _svg(COL_HEIGHT, aria, body)


def _hours_chart(monthly_hours: Sequence[tuple[str, float]]) -> str:
    name = "Heures d'insertion réalisées par mois"
    rows = sorted(
        ((_clean(key), _finite(value)) for key, value in monthly_hours), key=lambda row: row[0]
    )
    if not rows:
        return _empty_svg(name)
    return _column_chart(
        name,
        [key for key, _ in rows],
        [("heures", BLUE, [value or 0.0 for _, value in rows])],
        decimals=0,
        unit="heures",
        value_labels_up_to=12,
    )


def _files_chart(monthly_files: Sequence[tuple[str, int, int]]) -> str:
    name = "Fichiers reçus par mois"
    rows = sorted(
        ((_clean(key), _finite(ok), _finite(bad)) for key, ok, bad in monthly_files),
        key=lambda row: row[0],
    )
    if not rows:
        return _empty_svg(name)
    return _column_chart(
        name,
        [key for key, _, _ in rows],
        [
            ("chargés", LOADED, [ok or 0.0 for _, ok, _ in rows]),
            ("en quarantaine ou refusés", PROBLEM, [bad or 0.0 for _, _, bad in rows]),
        ],
        decimals=0,
        unit="fichiers",
        value_labels_up_to=24,
    )


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html { background: #eceef2; }
body {
  margin: 0; color: #1e1e1e; font-size: 14px; line-height: 1.35;
  font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
}
main { width: 210mm; max-width: 100%; margin: 0 auto; padding: 10mm 12mm 12mm; background: #fff; }
header { border-bottom: 3px solid #000091; padding-bottom: 8px; margin-bottom: 14px; }
h1 { margin: 0 0 6px; font-size: 26px; color: #000091; overflow-wrap: anywhere; }
.meta { margin: 0; display: flex; flex-wrap: wrap; gap: 6px 22px; color: #3a3a3a; }
.meta strong { color: #1e1e1e; }
.tiles {
  list-style: none; margin: 0 0 6px; padding: 0;
  display: grid; grid-template-columns: repeat(auto-fill, minmax(52mm, 1fr)); gap: 8px;
}
.tile {
  border: 1px solid #d5dae5; border-left: 5px solid #000091; border-radius: 4px;
  padding: 7px 10px; background: #f5f7fb; overflow-wrap: break-word; min-width: 0;
}
.tile .value { display: block; font-size: 24px; font-weight: bold; color: #000091; }
.tile .value.long { font-size: 19px; line-height: 1.6; }
.tile .value.very-long { font-size: 15px; line-height: 2; }
.tile .label { display: block; font-size: 12px; color: #3a3a3a; }
.empty { color: #5a5a5a; font-style: italic; }
figure { margin: 16px 0 0; break-inside: avoid; page-break-inside: avoid; }
figcaption { margin: 0 0 6px; font-size: 15px; font-weight: bold; }
svg.chart { display: block; width: 100%; height: auto; font-family: inherit; }
@media print {
  html, body { background: #fff; }
  main { width: auto; margin: 0; padding: 0; }
  .tiles, .tile, figure { break-inside: avoid; page-break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _tile_size(value: str) -> str:
    """The CSS class sizing a tile's value: long values get a smaller font and never overflow."""
    length = len(value)
    if length <= 10:
        return "value"
    if length <= 15:
        return "value long"
    return "value very-long"


def _tiles(key_figures: Sequence[tuple[str, str]]) -> str:
    if not key_figures:
        return f'<p class="empty">Chiffres clés{NARROW_NBSP}: {EMPTY_TEXT}</p>'
    items = "".join(
        f'<li class="tile"><span class="{_tile_size(_clean(value))}">{_esc(value)}</span>'
        f'<span class="label">{_esc(label)}</span></li>'
        for label, value in key_figures
    )
    return f'<ul class="tiles" aria-label="Chiffres clés">{items}</ul>'


def _figure(number: int, caption: str, svg: str) -> str:
    return f"<figure><figcaption>{number}. {_esc(caption)}</figcaption>{svg}</figure>"


def render_summary_page(data: SummaryData) -> str:
    """The summary page of ``data``: a complete, self-contained HTML5 document (French)."""
    as_of = data.as_of.strftime("%d/%m/%Y")
    rules = _clean(data.rules_version).strip() or "non renseignée"
    figures = [
        _figure(
            1,
            "Indicateurs par ETP en poste : réalisé rapporté à l'objectif (objectif = 100 %)",
            _indicator_chart(data.indicators),
        ),
        _figure(
            2,
            "Décisions de paiement du solde : nombre de volets et montant proposé",
            _decision_chart(data.decisions),
        ),
        _figure(3, "Heures d'insertion réalisées par mois", _hours_chart(data.monthly_hours)),
        _figure(
            4,
            "Fichiers reçus par mois : chargés, en quarantaine ou refusés",
            _files_chart(data.monthly_files),
        ),
    ]
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Synthèse — {_esc(data.title)} — situation au {as_of}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_esc(data.title)}</h1>"
        f'<p class="meta"><span>Situation au <strong>{as_of}</strong></span>'
        f"<span>Version des règles{NARROW_NBSP}: <strong>{_esc(rules)}</strong></span></p>"
        "</header>\n"
        f"<section>{_tiles(data.key_figures)}</section>\n"
        "<section>\n" + "\n".join(figures) + "\n</section>\n"
        "</main>\n</body>\n</html>\n"
    )
    log.debug("summary page for %r as of %s: %d characters", data.title, as_of, len(page))
    return page
