"""A one-page visual summary of a region as of a date: a self-contained HTML5 document.

The page is meant to be looked at rather than read: a header (region, as-of date, rules
version), key-figure tiles, then the four charts of `charts`; then, once public contracts are
counted for the scope (contract §8), their share per year against the PNAD target with the
facilitators' coverage; and on the national page, the regions compared and the FTE in post
against the national target. Its shell is the Jinja template
``templates/summary.html``; the charts are inline SVG drawn by code and given to it as Markup.

Everything works offline: inline CSS, no JavaScript, no external font or image, no URL at all.
Every text that comes from data is escaped (some of it comes from files sent by outsiders),
and C0 control characters are removed. Every text the reader sees is in French.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import jinja2
from markupsafe import Markup

from clauses.contract.french import NARROW_NBSP
from clauses.publish import charts, svg

__all__ = [
    "FteProgress",
    "IndicatorBar",
    "NationalComparison",
    "ProcurementYear",
    "RegionComparison",
    "SummaryData",
    "render_summary_page",
]

log = logging.getLogger(__name__)


@dataclass
class IndicatorBar:
    """One indicator of the convention: realised and objective values per FTE."""

    label: str  # e.g. "Heures d'insertion"
    realised_per_fte: float | None  # realised per FTE in post (region aggregate)
    objective_per_fte: float | None  # objective per FTE (None when no objective)


@dataclass
class ProcurementYear:
    """The public contracts notified in one year (contract §8.3), ratios as published."""

    year: int
    contracts: int
    social: int  # with a social consideration
    share: float | None  # social / contracts
    target: float | None  # pnad_social_share_target of the year's rules
    accompanied: int  # contracts with a social consideration a facilitator accompanied
    coverage: float | None  # accompanied / social


@dataclass
class RegionComparison:
    """One region on the national page: its share and coverage of one year, its FTE."""

    label: str  # e.g. "Île-de-France (11)"
    share: float | None
    target: float | None
    coverage: float | None
    fte_in_post: float | None  # None: no convention strand of the millésime
    fte_agreed: float | None  # FTE conventionnés


@dataclass
class FteProgress:
    """The FTE of one millésime, nationally, against the national target of its rules."""

    millesime: int
    fte_in_post: float
    fte_agreed: float
    target: float


@dataclass
class NationalComparison:
    """What the national page adds: the regions compared in `year`, and the progress of each
    millésime towards the national FTE target."""

    year: int | None
    regions: list[RegionComparison] = field(default_factory=list)
    progress: list[FteProgress] = field(default_factory=list)


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
    # public contracts per notification year (§8.3); empty: no chart (none counted)
    procurement: list[ProcurementYear] = field(default_factory=list)
    national: NationalComparison | None = None  # the national page only


def _escaped(value: object) -> Markup:
    """What a ``{{ value }}`` of the template writes: Markup as it is (the charts), any other
    value cleaned of control characters and escaped like the charts' texts (`svg.escape`)."""
    # Not markupsafe's escaping, which autoescape would apply: it writes an apostrophe as
    # "&#39;" and a double quote as "&#34;" where html.escape writes "&#x27;" and "&quot;".
    # Escaping here, once, keeps the page's bytes those of the pages already published, and
    # its texts escaped the same way as the SVG's. Autoescape stays on: what this returns is
    # Markup, never escaped twice, and a value that would bypass it is still escaped.
    if isinstance(value, Markup):
        return value
    return Markup(svg.escape(value))


@functools.cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("clauses.publish", "templates"),
        autoescape=True,  # titles, labels and rules versions come from outside
        finalize=_escaped,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails instead of vanishing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.globals.update(NNBSP=NARROW_NBSP, EMPTY_TEXT=svg.EMPTY_TEXT)
    return environment


def _tile_size(value: str) -> str:
    """The CSS class sizing a tile's value: long values get a smaller font and never overflow."""
    length = len(value)
    if length <= 10:
        return "value"
    if length <= 15:
        return "value long"
    return "value very-long"


def render_summary_page(data: SummaryData) -> str:
    """The summary page of ``data``: a complete, self-contained HTML5 document (French)."""
    as_of = data.as_of.strftime("%d/%m/%Y")
    figures = [
        (
            "Indicateurs par ETP en poste : réalisé rapporté à l'objectif (objectif = 100 %)",
            charts.indicator_chart(data.indicators),
        ),
        (
            "Décisions de paiement du solde : nombre de volets et montant proposé",
            charts.decision_chart(data.decisions),
        ),
        ("Heures d'insertion réalisées par mois", charts.hours_chart(data.monthly_hours)),
        (
            "Fichiers reçus par mois : chargés, en quarantaine ou refusés",
            charts.files_chart(data.monthly_files),
        ),
    ]
    if data.procurement:
        figures.append(
            (
                "Commande publique : part des contrats avec considération sociale par année, "
                "objectif PNAD, et part accompagnée par un facilitateur",
                charts.procurement_chart(data.procurement),
            )
        )
    if data.national is not None:
        year = data.national.year
        figures.append(
            (
                "Régions comparées"
                + (f" en {year}" if year is not None else "")
                + " : part des contrats avec considération sociale, taux de couverture, "
                "ETP en poste et conventionnés",
                charts.regions_chart(data.national.regions, year),
            )
        )
        figures.append(
            (
                "ETP en poste rapportés à la cible nationale, par millésime",
                charts.target_chart(data.national.progress),
            )
        )
    page = (
        _templates()
        .get_template("summary.html")
        .render(
            title=data.title,
            as_of=as_of,
            rules=svg.clean(data.rules_version).strip() or "non renseignée",
            tiles=[
                {"size": _tile_size(svg.clean(value)), "value": value, "label": label}
                for label, value in data.key_figures
            ],
            # Drawn by code that escapes every text it writes: the chart is markup.
            figures=[(caption, Markup(chart)) for caption, chart in figures],
        )
    )
    log.debug("summary page for %r as of %s: %d characters", data.title, as_of, len(page))
    return page
