"""The charts of the summary page, drawn as inline SVG (`svg`):

(a) realised vs objective per FTE for each indicator, normalised so that the objective is 100 %;
(b) balance-payment decisions: number of strands and proposed amount per decision;
(c) insertion hours per month;
(d) files received per month, loaded vs quarantined or refused;
(e) public contracts (contract §8): the share with a social consideration per year against the
    PNAD target, and the facilitators' coverage;
(f) the national page's regions compared: share against the target, coverage, FTE in post
    against FTE conventionnés;
(g) the national page's FTE in post per millésime against the national target.

Each function takes the rows of its chart and returns one ``<svg>`` element, or a band saying
"aucune donnée" when there is none. A value that is not a finite number is shown as missing.
Every label and tooltip is in French.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from clauses.contract.french import NARROW_NBSP, french_number
from clauses.contract.vocabulary import DECISIONS, Decision
from clauses.publish import svg

if TYPE_CHECKING:
    from clauses.publish.page import FteProgress, IndicatorBar, ProcurementYear, RegionComparison

__all__ = [
    "decision_chart",
    "files_chart",
    "hours_chart",
    "indicator_chart",
    "procurement_chart",
    "regions_chart",
    "target_chart",
]

log = logging.getLogger(__name__)

# Colours
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
COVERAGE = "#2e7d32"
TARGET = "#c62828"  # the PNAD target and the national FTE target: a dashed line

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

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DIGIT_GROUP = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")


# --------------------------------------------------------------------------------------------
# Labels and numbers
# --------------------------------------------------------------------------------------------


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
    text = " ".join(svg.clean(text).split())
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def _wrap(text: str, max_chars: int, max_lines: int = 2) -> list[str]:
    """Cut a label into at most ``max_lines`` lines of ``max_chars``; the last one may end in …"""
    # "1 607 heures" is never cut between "1" and "607"
    words = _DIGIT_GROUP.sub("\u00a0", " ".join(svg.clean(text).split())).split(" ")
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


# --------------------------------------------------------------------------------------------
# (a) Indicators: realised vs objective, per FTE
# --------------------------------------------------------------------------------------------

IND_LABEL_CHARS = 25
IND_X0 = 200
IND_BAR_W = 380
IND_ROW_H = 54
IND_TOP = 50
IND_CAP = 2.0  # the axis stops at 200 % of the objective; longer bars are cut


def indicator_chart(indicators: Sequence[IndicatorBar]) -> str:
    """(a) One row per indicator: the realised bar against the objective's (= 100 %)."""
    name = "Réalisé par ETP en poste rapporté à l'objectif, par indicateur"
    if not indicators:
        return svg.empty_chart(name)
    rows = []
    for item in indicators:
        realised = _finite(item.realised_per_fte)
        objective = _finite(item.objective_per_fte)
        ratio = None
        if realised is not None and objective is not None and objective > 0:
            ratio = max(realised, 0.0) / objective
        rows.append((svg.clean(item.label), realised, objective, ratio))
    largest = max([1.0] + [r for *_, r in rows if r is not None])
    axis_max = min(IND_CAP, math.ceil(largest * 2) / 2)
    scale = IND_BAR_W / axis_max
    bottom = IND_TOP + len(rows) * IND_ROW_H
    height = bottom + 8

    body: list[str] = svg.legend(
        0,
        16,
        [("Réalisé par ETP en poste", BLUE), (f"Objectif par ETP (= 100{NARROW_NBSP}%)", LIGHT)],
    )
    tick = 0.0
    while tick <= axis_max + 1e-9:
        x = IND_X0 + tick * scale
        body.append(svg.line(x, IND_TOP - 4, x, bottom, BLUE if tick == 1.0 else GRID, tick == 1.0))
        body.append(
            svg.text(
                x, IND_TOP - 10, _percent(tick), anchor="middle", size=svg.SMALL, fill=svg.MUTED
            )
        )
        tick += 0.5

    aria: list[str] = []
    for index, (label, realised, objective, ratio) in enumerate(rows):
        y = IND_TOP + index * IND_ROW_H
        if index:
            body.append(svg.line(0, y, svg.VIEW_W, y, "#eef0f4"))
        lines = _wrap(label, IND_LABEL_CHARS, max_lines=3)
        first = y + IND_ROW_H / 2 + 4 - (len(lines) - 1) * 7
        for number, line in enumerate(lines):
            body.append(svg.text(0, first + number * 14, line, bold=True))
        bar_y, obj_y = y + 9, y + 29
        if realised is None:
            body.append(
                svg.text(IND_X0, bar_y + 12, "réalisé non renseigné", fill=svg.MUTED, italic=True)
            )
            aria.append(f"{label} : réalisé non renseigné")
        elif ratio is None:
            body.append(svg.text(IND_X0, bar_y + 12, f"réalisé {_per_fte(realised)} par ETP"))
            aria.append(f"{label} : {_per_fte(realised)} par ETP")
        else:
            length = min(ratio, axis_max) * scale
            tooltip = f"{label} : {_per_fte(realised)} par ETP, {_percent(ratio)} de l'objectif"
            body.append(svg.rect(IND_X0, bar_y, length, 15, BLUE, tooltip))
            end = IND_X0 + length
            if ratio > axis_max:  # cut bar: a white notch marks the break
                body.append(
                    f'<polygon points="{svg.num(end - 14)},{svg.num(bar_y - 1)} {svg.num(end - 8)},'
                    f"{svg.num(bar_y - 1)} {svg.num(end - 12)},{svg.num(bar_y + 16)} "
                    f'{svg.num(end - 18)},{svg.num(bar_y + 16)}" fill="#ffffff"/>'
                )
            body.append(
                svg.text(
                    end + 6,
                    bar_y + 12,
                    f"{_per_fte(realised)} ({_percent(ratio)})",
                    bold=True,
                    halo=True,
                )
            )
            aria.append(f"{label} : {_per_fte(realised)} par ETP, {_percent(ratio)} de l'objectif")
        if objective is None:
            body.append(svg.text(IND_X0, obj_y + 12, "sans objectif", fill=svg.MUTED, italic=True))
        elif objective <= 0:
            body.append(svg.text(IND_X0, obj_y + 12, "objectif nul", fill=svg.MUTED, italic=True))
        else:
            body.append(
                svg.rect(IND_X0, obj_y, scale, 15, LIGHT, f"objectif {_per_fte(objective)}")
            )
            body.append(
                svg.text(
                    IND_X0 + scale + 6,
                    obj_y + 12,
                    f"objectif {_per_fte(objective)}",
                    fill=svg.MUTED,
                    halo=True,
                )
            )
    return svg.chart(height, f"{name}. " + " ; ".join(aria), body)


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


def decision_chart(decisions: Sequence[tuple[str, int, Decimal]]) -> str:
    """(b) One row per decision, in the vocabulary's order: strands and proposed amount."""
    name = "Nombre de volets et montant proposé par décision"
    if not decisions:
        return svg.empty_chart(name)
    rows: list[tuple[str, int, float | None, Decimal | float | None]] = []
    for decision, count, amount in sorted(decisions, key=lambda row: _decision_rank(row[0])):
        number = _finite(count)
        value = _finite(amount)
        rows.append(
            (
                svg.clean(decision),
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
        svg.text(0, 16, "Décision", size=svg.SMALL, fill=svg.MUTED, bold=True),
        svg.text(DEC_COUNT_X, 16, "Nombre de volets", size=svg.SMALL, fill=svg.MUTED, bold=True),
        svg.text(DEC_AMOUNT_X, 16, "Montant proposé", size=svg.SMALL, fill=svg.MUTED, bold=True),
        svg.line(zero_x, DEC_TOP - 6, zero_x, bottom, "#9aa3b5"),
    ]
    aria: list[str] = []
    for index, (decision, count, value, exact) in enumerate(rows):
        y = DEC_TOP + index * DEC_ROW_H
        colour = _decision_colour(decision)
        label = _shorten(decision, 13)
        body.append(svg.rect(0, y + 7, 10, 10, colour))
        body.append(svg.text(16, y + 16, label, bold=True))
        length = max(count, 0) / max_count * DEC_COUNT_W
        tooltip = f"{decision} : {french_number(count, 0)} volet(s)"
        body.append(svg.rect(DEC_COUNT_X, y + 3, length, 18, colour, tooltip))
        body.append(svg.text(DEC_COUNT_X + length + 6, y + 16, french_number(count, 0), bold=True))
        if value is None or exact is None:
            body.append(
                svg.text(zero_x + 6, y + 16, "montant non renseigné", fill=svg.MUTED, italic=True)
            )
            aria.append(f"{decision} : {french_number(count, 0)} volet(s), montant non renseigné")
            continue
        size = abs(value) / span * DEC_AMOUNT_W
        start = zero_x - size if value < 0 else zero_x
        body.append(svg.rect(start, y + 3, size, 18, colour, f"{decision} : {_euros(exact)}"))
        text_x = zero_x + 6 if value < 0 else zero_x + size + 6
        body.append(svg.text(text_x, y + 16, _euros(exact)))
        aria.append(f"{decision} : {french_number(count, 0)} volet(s), {_euros(exact)}")
    return svg.chart(height, f"{name}. " + " ; ".join(aria), body)


# --------------------------------------------------------------------------------------------
# (c), (d) Column charts per month
# --------------------------------------------------------------------------------------------

COL_LEFT = 66
COL_RIGHT = svg.VIEW_W - 6
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
    step = svg.nice_step(max(totals + [0.0]))
    axis_max = max(step, math.ceil(max(totals + [0.0]) / step) * step)
    scale = (COL_BOTTOM - COL_TOP) / axis_max
    slot = (COL_RIGHT - COL_LEFT) / count
    width = min(slot * 0.68, 60.0)

    body: list[str] = [
        svg.text(COL_LEFT - 6, 16, unit, anchor="end", size=svg.SMALL, fill=svg.MUTED)
    ]
    if len(series) > 1:
        body += svg.legend(COL_LEFT + 10, 16, [(label, colour) for label, colour, _ in series])
    tick = 0.0
    while tick <= axis_max + step / 1000:
        y = COL_BOTTOM - tick * scale
        body.append(svg.line(COL_LEFT, y, COL_RIGHT, y, "#9aa3b5" if tick == 0 else GRID))
        body.append(
            svg.text(
                COL_LEFT - 6, y + 4, _compact(tick), anchor="end", size=svg.SMALL, fill=svg.MUTED
            )
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
                body.append(
                    svg.rect(centre - width / 2, y - height, width, height, colour, tooltip)
                )
            y -= height
        if count <= value_labels_up_to:
            body.append(
                svg.text(
                    centre,
                    y - 5,
                    _compact(totals[i]) if decimals == 0 else french_number(totals[i], decimals),
                    anchor="middle",
                    size=svg.SMALL,
                    bold=True,
                    halo=True,
                )
            )
        month, year = _month_parts(key)
        if i % label_every == 0:
            body.append(svg.text(centre, COL_BOTTOM + 16, month, anchor="middle", size=svg.SMALL))
            if year and (i == 0 or month == MONTHS[0]):
                body.append(
                    svg.text(
                        centre,
                        COL_BOTTOM + 31,
                        year,
                        anchor="middle",
                        size=svg.SMALL,
                        fill=svg.MUTED,
                    )
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
    return svg.chart(COL_HEIGHT, aria, body)


def hours_chart(monthly_hours: Sequence[tuple[str, float]]) -> str:
    """(c) Insertion hours per month ("AAAA-MM", hours)."""
    name = "Heures d'insertion réalisées par mois"
    rows = sorted(
        ((svg.clean(key), _finite(value)) for key, value in monthly_hours), key=lambda row: row[0]
    )
    if not rows:
        return svg.empty_chart(name)
    return _column_chart(
        name,
        [key for key, _ in rows],
        [("heures", BLUE, [value or 0.0 for _, value in rows])],
        decimals=0,
        unit="heures",
        value_labels_up_to=12,
    )


def files_chart(monthly_files: Sequence[tuple[str, int, int]]) -> str:
    """(d) Files per month ("AAAA-MM", loaded, quarantined or refused), stacked."""
    name = "Fichiers reçus par mois"
    rows = sorted(
        ((svg.clean(key), _finite(ok), _finite(bad)) for key, ok, bad in monthly_files),
        key=lambda row: row[0],
    )
    if not rows:
        return svg.empty_chart(name)
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
# (e) Public contracts: share with a social consideration per year, coverage, PNAD target
# --------------------------------------------------------------------------------------------

PRO_LEFT = 66
PRO_TOP = 44
PRO_BOTTOM = 236
PRO_HEIGHT = 282


def _share_axis(values: Sequence[float]) -> tuple[float, float]:
    """The top of a percentage axis showing every value (at least 40 %, so that a 30 % target
    never sits at the top, at most 100 %), and its step."""
    top = min(1.0, max(0.4, math.ceil(max(list(values) + [0.0]) * 10 - 1e-9) / 10))
    return top, 0.1 if top <= 0.5 else 0.2


def _dashed(x1: float, y1: float, x2: float, y2: float, colour: str = TARGET) -> str:
    """A two-unit dashed line: the targets."""
    return (
        f'<line x1="{svg.num(x1)}" y1="{svg.num(y1)}" x2="{svg.num(x2)}" y2="{svg.num(y2)}" '
        f'stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/>'
    )


def _target_legend(x: float, y: float, label: str) -> list[str]:
    """A legend item for the dashed target line, drawn like `svg.legend`'s squares."""
    return [_dashed(x, y - 4, x + 16, y - 4), svg.text(x + 21, y, label, size=svg.SMALL)]


def procurement_chart(years: Sequence[ProcurementYear]) -> str:
    """(e) Per year of notification, two columns: the share of contracts with a social
    consideration and the share of those a facilitator accompanied; the year's PNAD target as a
    dashed line across the year's slot."""
    name = "Part des contrats avec considération sociale par année et taux de couverture"
    rows = sorted(years, key=lambda item: item.year)
    if not rows:
        return svg.empty_chart(name)
    shares = [_finite(item.share) for item in rows]
    coverages = [_finite(item.coverage) for item in rows]
    targets = [_finite(item.target) for item in rows]
    top, step = _share_axis([v for v in shares + coverages + targets if v is not None])
    scale = (PRO_BOTTOM - PRO_TOP) / top
    slot = (COL_RIGHT - PRO_LEFT) / len(rows)
    width = min(slot * 0.32, 44.0)

    body = svg.legend(
        PRO_LEFT,
        16,
        [("Part avec considération sociale", BLUE), ("Taux de couverture", COVERAGE)],
    )
    body += _target_legend(PRO_LEFT + 430, 16, "Objectif PNAD")
    tick = 0.0
    while tick <= top + 1e-9:
        y = PRO_BOTTOM - tick * scale
        body.append(svg.line(PRO_LEFT, y, COL_RIGHT, y, "#9aa3b5" if tick == 0 else GRID))
        body.append(
            svg.text(
                PRO_LEFT - 6, y + 4, _percent(tick), anchor="end", size=svg.SMALL, fill=svg.MUTED
            )
        )
        tick += step
    aria: list[str] = []
    for index, item in enumerate(rows):
        centre = PRO_LEFT + (index + 0.5) * slot
        share, coverage, target = shares[index], coverages[index], targets[index]
        contracts = f"{french_number(item.contracts, 0)} contrat{'s' if item.contracts > 1 else ''}"
        parts = [f"{item.year} : {contracts}"]
        labels: list[str] = []  # drawn last, over the target line
        for x, value, colour, what in (
            (centre - width - 2, share, BLUE, "avec considération sociale"),
            (centre + 2, coverage, COVERAGE, "accompagnés par un facilitateur"),
        ):
            if value is None:
                labels.append(
                    svg.text(x + width / 2, PRO_BOTTOM - 5, "—", anchor="middle", fill=svg.MUTED)
                )
                parts.append(f"{what} : non calculable")
                continue
            height = min(max(value, 0.0), top) * scale
            count = item.social if colour == BLUE else item.accompanied
            tooltip = f"{item.year} : {_percent(value)} {what} ({french_number(count, 0)})"
            body.append(svg.rect(x, PRO_BOTTOM - height, width, height, colour, tooltip))
            labels.append(
                svg.text(
                    x + width / 2,
                    PRO_BOTTOM - height - 5,
                    _percent(value),
                    anchor="middle",
                    size=svg.SMALL,
                    bold=True,
                    halo=True,
                )
            )
            parts.append(f"{_percent(value)} {what}")
        if target is not None:
            y = PRO_BOTTOM - min(max(target, 0.0), top) * scale
            body.append(_dashed(centre - slot * 0.45, y, centre + slot * 0.45, y))
            parts.append(f"objectif {_percent(target)}")
        body += labels
        body.append(svg.text(centre, PRO_BOTTOM + 16, str(item.year), anchor="middle", bold=True))
        body.append(
            svg.text(
                centre, PRO_BOTTOM + 31, contracts, anchor="middle", size=svg.SMALL, fill=svg.MUTED
            )
        )
        aria.append(", ".join(parts))
    return svg.chart(PRO_HEIGHT, f"{name}. " + " ; ".join(aria), body)


# --------------------------------------------------------------------------------------------
# (f) The regions compared (national page)
# --------------------------------------------------------------------------------------------

REG_LABEL_CHARS = 31
REG_TOP = 38
REG_ROW_H = 24
REG_PANELS = ((216, 130), (396, 110), (556, 90))  # (x, bar length): share, coverage, FTE


def regions_chart(regions: Sequence[RegionComparison], year: int | None) -> str:
    """(f) One row per region: its share of contracts with a social consideration notified in
    `year` against the PNAD target (dashed), its coverage, and its FTE in post over its FTE
    conventionnés of the millésime `year`."""
    name = "Régions comparées" + (f" en {year}" if year is not None else "")
    name += " : part avec considération sociale, couverture, ETP"
    if not regions:
        return svg.empty_chart(name)
    shares = [_finite(r.share) for r in regions]
    coverages = [_finite(r.coverage) for r in regions]
    targets = [_finite(r.target) for r in regions]
    in_post = [_finite(r.fte_in_post) for r in regions]
    agreed = [_finite(r.fte_agreed) for r in regions]
    share_top, _ = _share_axis([v for v in shares + targets if v is not None])
    fte_top = max([v for v in in_post + agreed if v is not None] + [1.0])
    bottom = REG_TOP + len(regions) * REG_ROW_H
    (share_x, share_w), (cover_x, cover_w), (fte_x, fte_w) = REG_PANELS

    body = [
        svg.text(share_x, 14, "Considération sociale", size=svg.SMALL, bold=True),
        svg.text(cover_x, 14, "Taux de couverture", size=svg.SMALL, bold=True),
        svg.text(fte_x, 14, "ETP en poste / conventionnés", size=svg.SMALL, bold=True),
        *_target_legend(share_x, 30, f"objectif PNAD (axe 0 à {_percent(share_top)})"),
        svg.rect(fte_x, 21, 12, 12, LIGHT),
        svg.text(fte_x + 17, 30, "conventionnés", size=svg.SMALL),
        svg.rect(fte_x + 118, 24, 12, 6, BLUE),
        svg.text(fte_x + 135, 30, "en poste", size=svg.SMALL),
    ]
    for x in (share_x, cover_x, fte_x):
        body.append(svg.line(x, REG_TOP - 2, x, bottom, "#9aa3b5"))
    aria: list[str] = []
    for index, region in enumerate(regions):
        y = REG_TOP + index * REG_ROW_H
        label = svg.clean(region.label)
        if index % 2:
            body.append(svg.rect(0, y, svg.VIEW_W, REG_ROW_H, "#f5f7fb"))
        body.append(svg.text(0, y + 16, _shorten(label, REG_LABEL_CHARS), size=svg.SMALL))
        parts = [label]
        share, coverage, target = shares[index], coverages[index], targets[index]
        if share is not None:
            length = min(max(share, 0.0), share_top) / share_top * share_w
            tooltip = f"{label} : {_percent(share)} avec considération sociale"
            body.append(svg.rect(share_x, y + 5, length, 14, BLUE, tooltip))
        if target is not None:  # over the bar, under its label
            target_x = share_x + min(max(target, 0.0), share_top) / share_top * share_w
            body.append(_dashed(target_x, y + 1, target_x, y + REG_ROW_H - 1))
        if share is None:
            body.append(svg.text(share_x + 4, y + 16, "sans contrat", fill=svg.MUTED, italic=True))
            parts.append("sans contrat compté")
        else:
            body.append(
                svg.text(share_x + length + 4, y + 16, _percent(share), size=svg.SMALL, halo=True)
            )
            parts.append(f"part {_percent(share)}")
        if coverage is None:
            body.append(svg.text(cover_x + 4, y + 16, "—", fill=svg.MUTED))
        else:
            length = min(max(coverage, 0.0), 1.0) * cover_w
            tooltip = f"{label} : couverture {_percent(coverage)}"
            body.append(svg.rect(cover_x, y + 5, length, 14, COVERAGE, tooltip))
            body.append(
                svg.text(
                    cover_x + length + 4, y + 16, _percent(coverage), size=svg.SMALL, halo=True
                )
            )
            parts.append(f"couverture {_percent(coverage)}")
        post, agreed_fte = in_post[index], agreed[index]
        if post is None and agreed_fte is None:
            body.append(svg.text(fte_x + 4, y + 16, "sans convention", fill=svg.MUTED, italic=True))
            parts.append("sans convention")
        else:
            post, agreed_fte = post or 0.0, agreed_fte or 0.0
            fte_text = f"{french_number(post, 1)} / {french_number(agreed_fte, 1)}"
            body.append(svg.rect(fte_x, y + 4, agreed_fte / fte_top * fte_w, 16, LIGHT))
            body.append(
                svg.rect(
                    fte_x,
                    y + 9,
                    post / fte_top * fte_w,
                    6,
                    BLUE,
                    f"{label} : {fte_text} ETP (en poste / conventionnés)",
                )
            )
            right = fte_x + max(post, agreed_fte) / fte_top * fte_w
            body.append(svg.text(right + 4, y + 16, fte_text, size=svg.SMALL, halo=True))
            parts.append(f"{fte_text} ETP en poste / conventionnés")
        aria.append(", ".join(parts))
    return svg.chart(bottom + 6, f"{name}. " + " ; ".join(aria), body)


# --------------------------------------------------------------------------------------------
# (g) FTE in post against the national target (national page)
# --------------------------------------------------------------------------------------------

TGT_X0 = 70
TGT_BAR_W = 360
TGT_TOP = 44
TGT_ROW_H = 40


def target_chart(progress: Sequence[FteProgress]) -> str:
    """(g) One row per millésime: FTE conventionnés (light) and in post (dark) against the
    national target of its rules (dashed)."""
    name = "ETP en poste et conventionnés rapportés à la cible nationale, par millésime"
    rows = sorted(progress, key=lambda item: item.millesime)
    if not rows:
        return svg.empty_chart(name)
    values = [
        (_finite(r.fte_in_post) or 0.0, _finite(r.fte_agreed) or 0.0, _finite(r.target))
        for r in rows
    ]
    top = max([max(p, a, t or 0.0) for p, a, t in values] + [1.0]) * 1.08
    scale = TGT_BAR_W / top
    bottom = TGT_TOP + len(rows) * TGT_ROW_H
    body = svg.legend(
        0, 16, [("ETP conventionnés", LIGHT), ("ETP en poste", BLUE)]
    ) + _target_legend(300, 16, "cible nationale")
    aria: list[str] = []
    for index, (item, (post, agreed, target)) in enumerate(zip(rows, values, strict=True)):
        y = TGT_TOP + index * TGT_ROW_H
        body.append(svg.text(0, y + 22, str(item.millesime), bold=True))
        body.append(svg.rect(TGT_X0, y + 6, agreed * scale, 24, LIGHT))
        body.append(
            svg.rect(
                TGT_X0,
                y + 12,
                post * scale,
                12,
                BLUE,
                f"{item.millesime} : {french_number(post, 1)} ETP en poste",
            )
        )
        first = f"{french_number(post, 1)} ETP en poste"
        if target is not None and target > 0:
            x = TGT_X0 + target * scale
            body.append(_dashed(x, y + 2, x, y + TGT_ROW_H - 4))
            first += f" ({_percent(post / target)} de la cible de {french_number(target, 0)})"
        second = f"{french_number(agreed, 1)} ETP conventionnés"
        right = TGT_X0 + max(post, agreed, target or 0.0) * scale + 8
        body.append(svg.text(right, y + 15, first, size=svg.SMALL, bold=True, halo=True))
        body.append(svg.text(right, y + 29, second, size=svg.SMALL, fill=svg.MUTED, halo=True))
        words = f"{first}, {second}"
        aria.append(f"{item.millesime} : {words}")
    return svg.chart(bottom + 6, f"{name}. " + " ; ".join(aria), body)
