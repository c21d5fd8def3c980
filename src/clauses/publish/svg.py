"""Drawing pieces of the summary page's charts: inline SVG elements written as text.

Used as ``svg.text(...)``, ``svg.rect(...)``: each function returns the markup of one element
(or a few), with coordinates in SVG user units of a chart ``VIEW_W`` wide (the chart is scaled
to the page width). Every text given to them may come from outsiders: it is cleaned of C0
control characters and escaped (`escape`) before it reaches the markup.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

__all__ = [
    "CHAR_W",
    "EMPTY_TEXT",
    "FONT",
    "INK",
    "MUTED",
    "SMALL",
    "VIEW_W",
    "chart",
    "clean",
    "empty_chart",
    "escape",
    "legend",
    "line",
    "nice_step",
    "num",
    "rect",
    "text",
    "text_width",
]

EMPTY_TEXT = "aucune donnée"

# Geometry of every chart, in SVG user units (the SVG is scaled to the page width).
VIEW_W = 760
FONT = 12
SMALL = 11
CHAR_W = 0.62  # average advance of a sans-serif glyph, as a fraction of the font size

INK = "#1e1e1e"  # texts
MUTED = "#5a5a5a"  # secondary texts

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value: object) -> str:
    """A text without C0 control characters (tab, newline and carriage return are kept)."""
    return _CONTROL.sub("", str(value))


def escape(value: object) -> str:
    """A text safe in HTML content and in a quoted attribute (``html.escape``, once cleaned)."""
    return html.escape(clean(value), quote=True)


def text_width(label: str, size: float = FONT) -> float:
    """About how wide ``label`` is drawn at ``size``."""
    return len(label) * size * CHAR_W


def num(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zero."""
    written = f"{value:.1f}"
    return written[:-2] if written.endswith(".0") else written


def text(
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
        f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{num(size)}" '
        f'fill="{fill}"{style}>{escape(content)}</text>'
    )


def rect(x: float, y: float, w: float, h: float, fill: str, tooltip: str | None = None) -> str:
    """A rectangle (a negative size is drawn empty), with a tooltip when given."""
    attrs = (
        f'x="{num(x)}" y="{num(y)}" width="{num(max(w, 0.0))}" height="{num(max(h, 0.0))}" '
        f'fill="{fill}"'
    )
    if tooltip is None:
        return f"<rect {attrs}/>"
    return f"<rect {attrs}><title>{escape(tooltip)}</title></rect>"


def line(x1: float, y1: float, x2: float, y2: float, stroke: str, dash: bool = False) -> str:
    """A one-unit line, dashed when ``dash``."""
    extra = ' stroke-dasharray="4 3"' if dash else ""
    return (
        f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
        f'stroke="{stroke}" stroke-width="1"{extra}/>'
    )


def chart(height: float, aria_label: str, body: Sequence[str]) -> str:
    """The ``<svg>`` element of one chart: ``body`` drawn on a ``VIEW_W`` wide canvas, read
    aloud as ``aria_label``."""
    return (
        f'<svg class="chart" viewBox="0 0 {VIEW_W} {num(height)}" width="{VIEW_W}" '
        f'height="{num(height)}" role="img" aria-label="{escape(aria_label)}">'
        + "".join(body)
        + "</svg>"
    )


def empty_chart(aria_label: str) -> str:
    """The chart of no data: a grey band saying so."""
    body = [
        rect(0, 0, VIEW_W, 60, "#f6f7f9"),
        text(VIEW_W / 2, 35, EMPTY_TEXT, anchor="middle", size=14, fill=MUTED, italic=True),
    ]
    return chart(60, f"{aria_label} : {EMPTY_TEXT}", body)


def legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    """Coloured squares and their labels on one line, from (x, y) (y = text baseline)."""
    parts: list[str] = []
    for label, colour in items:
        parts.append(rect(x, y - 10, 12, 12, colour))
        parts.append(text(x + 17, y, label, size=SMALL))
        x += 17 + text_width(label, SMALL) + 22
    return parts


def nice_step(maximum: float, ticks: int = 4) -> float:
    """A round axis step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns
