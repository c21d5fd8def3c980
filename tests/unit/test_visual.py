"""Tests of the visual summary page: structure, French formatting, escaping, empty data."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from clauses.contract.french import french_number
from clauses.publish.page import (
    FteProgress,
    IndicatorBar,
    NationalComparison,
    ProcurementYear,
    RegionComparison,
    SummaryData,
    render_summary_page,
)

NNBSP = "\u202f"
HOSTILE = "<script>alert(1)</script>"
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}


def sample_data(title: str = "Île-de-France (11)") -> SummaryData:
    """A region with every chart filled, one indicator without objective, a reversement."""
    return SummaryData(
        title=title,
        as_of=date(2025, 6, 30),
        key_figures=[
            ("Conventions", "42"),
            ("ETP en poste", f"37,5{NNBSP}ETP"),
            ("Heures d'insertion", f"1{NNBSP}234{NNBSP}567"),
            ("Montant proposé", f"1{NNBSP}020{NNBSP}000,00{NNBSP}€"),
        ],
        indicators=[
            IndicatorBar("Heures d'insertion", 1234.5, 1500.0),
            IndicatorBar("Bénéficiaires (personnes physiques)", 41.25, 35.0),
            IndicatorBar("Structures inclusives mobilisées", 12.0, 5.0),
            IndicatorBar("Contacts avec les acheteurs", 18.4, None),
            IndicatorBar("Marchés accompagnés", None, 10.0),
            IndicatorBar("Partenariats développés", 2.5, 0.0),
        ],
        decisions=[
            ("en cours", 3, Decimal("0")),
            ("libérable", 30, Decimal("845000.50")),
            ("à examiner", 6, Decimal("120500.00")),
            ("suspendu", 2, Decimal("60000")),
            ("reversement", 1, Decimal("-12345.67")),
        ],
        monthly_hours=[(f"2025-{month:02d}", 80_000.0 + month * 7_500.5) for month in range(1, 7)]
        + [("2024-12", 65_000.0)],
        monthly_files=[
            ("2025-01", 12, 1),
            ("2025-02", 10, 0),
            ("2025-03", 14, 3),
            ("2025-04", 9, 2),
            ("2025-05", 15, 0),
            ("2025-06", 11, 4),
        ],
        rules_version="2025.1",
    )


class PageParser(HTMLParser):
    """Collects the start tags and checks that every element opened is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.declarations: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack[-1:] != ["style"]:
            self.text.append(data)

    def of(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def test_page_structure() -> None:
    page = render_summary_page(sample_data())
    parser = parse(page)
    assert parser.declarations == ["DOCTYPE html"]
    assert parser.of("html") == [{"lang": "fr"}]
    assert {"charset": "utf-8"} in parser.of("meta")
    svgs = parser.of("svg")
    assert len(svgs) == 4
    for svg in svgs:
        assert svg["role"] == "img"
        assert svg["aria-label"]
    assert len(parser.of("figure")) == 4
    assert len(parser.of("figcaption")) == 4
    assert len(parser.of("style")) == 1
    assert "@media print" in page
    assert "A4" in page


def test_page_is_self_contained() -> None:
    page = render_summary_page(sample_data())
    lowered = page.lower()
    assert "<script" not in lowered
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert "url(" not in lowered
    assert "@import" not in lowered
    assert "@font-face" not in lowered
    parser = parse(page)
    for tag in ("img", "link", "iframe", "object", "embed", "image", "use"):
        assert parser.of(tag) == []
    for _, attrs in parser.tags:
        assert not any(name.startswith("on") for name in attrs)
        assert "href" not in attrs and "src" not in attrs


def test_header_and_tiles() -> None:
    parser = parse(render_summary_page(sample_data()))
    text = "".join(parser.text)
    assert "Île-de-France (11)" in text
    assert "Situation au 30/06/2025" in text
    assert "2025.1" in text
    assert f"1{NNBSP}020{NNBSP}000,00{NNBSP}€" in text
    assert len([a for a in parser.of("li") if a.get("class") == "tile"]) == 4


def test_french_number_format() -> None:
    assert french_number(1234.5, 1) == f"1{NNBSP}234,5"
    assert french_number(1234.5) == f"1{NNBSP}234,50"  # two decimals unless told
    assert french_number(None) == ""
    assert french_number(1234.56, 2) == f"1{NNBSP}234,56"
    assert french_number(Decimal("-12345.675"), 2) == f"-12{NNBSP}345,68"
    assert french_number(2.675, 2) == "2,68"  # half up on the decimal representation
    assert french_number(-0.04, 1) == "0,0"  # no negative zero
    assert french_number(1_234_567, 0) == f"1{NNBSP}234{NNBSP}567"


def test_french_formatting_in_charts() -> None:
    text = "".join(parse(render_summary_page(sample_data())).text)
    # (a) realised and objective per FTE, attainment in percent
    assert f"1{NNBSP}234,5 (82{NNBSP}%)" in text
    assert f"objectif 1{NNBSP}500,0" in text
    assert "41,3 (118" in text  # 41.25 rounded half up
    assert "sans objectif" in text
    assert "réalisé non renseigné" in text
    assert "objectif nul" in text
    assert f"12,0 (240{NNBSP}%)" in text  # beyond the axis, the bar is cut but the value stays
    # (b) amounts in euros, a negative one for the reversement
    assert f"845{NNBSP}000,50{NNBSP}€" in text
    assert f"-12{NNBSP}345,67{NNBSP}€" in text
    # (c) months in French, the year under January and under the first month
    for label in ("déc.", "janv.", "févr.", "mars", "juin", "2024", "2025"):
        assert label in text
    assert f"125{NNBSP}003" in text  # June: 80 000 + 6 x 7 500.5
    shown = text.replace("2025.1", "")  # the rules version is not a number
    assert not re.search(r"\d\.\d", shown), "a number is written with a decimal point"


def test_decision_colours_and_order() -> None:
    page = render_summary_page(sample_data())
    svg = page.split("<svg")[2]
    positions = [svg.index(f">{name}<") for name in ("libérable", "à examiner", "suspendu")]
    assert positions == sorted(positions)
    for colour in ("#2e7d32", "#e67e00", "#c62828", "#6a1b9a", "#8a8a8a"):
        assert f'fill="{colour}"' in svg


def test_hostile_texts_are_escaped() -> None:
    data = sample_data(title=HOSTILE)
    data.key_figures.append((HOSTILE, '"><img src=x onerror=alert(1)>'))
    data.indicators.append(IndicatorBar(HOSTILE, 1.0, 2.0))
    data.decisions.append((HOSTILE, 1, Decimal("1")))
    data.monthly_hours.append(('2025-07"><script>', 1.0))
    data.monthly_files.append(("<b>x</b>", 1, 1))
    data.rules_version = "</title><script>alert(2)</script>\x00"
    page = render_summary_page(data)
    assert "<script" not in page.lower()
    assert "<img" not in page
    assert "<b>" not in page
    assert "\x00" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    parser = parse(page)
    assert parser.of("img") == []
    assert len(parser.of("svg")) == 4
    titles = [text for text in parser.text if HOSTILE in text]
    assert titles, "the hostile title is shown as text"
    # the hostile label also reaches the aria-labels, as plain text
    assert any(HOSTILE in (svg["aria-label"] or "") for svg in parser.of("svg"))


def test_the_shell_escapes_like_the_charts() -> None:
    # The shell (a Jinja template) writes texts as html.escape does, like the SVG charts, and
    # like the pages already published: an apostrophe is "&#x27;", never markupsafe's "&#39;".
    data = sample_data(title='L\'Île "<&>"')
    data.key_figures = [("Taux d'atteinte", "1 < 2 & 'x'")]
    data.rules_version = "v'1"
    page = render_summary_page(data)
    assert "&#39;" not in page and "&#34;" not in page
    assert "<h1>L&#x27;Île &quot;&lt;&amp;&gt;&quot;</h1>" in page
    assert "<title>Synthèse — L&#x27;Île &quot;&lt;&amp;&gt;&quot; — situation au " in page
    assert '<span class="label">Taux d&#x27;atteinte</span>' in page
    assert ">1 &lt; 2 &amp; &#x27;x&#x27;</span>" in page
    assert "<strong>v&#x27;1</strong>" in page
    assert "<figcaption>3. Heures d&#x27;insertion réalisées par mois</figcaption><svg " in page
    assert page.startswith("<!DOCTYPE html>\n<html") and page.endswith("</html>\n")


def test_empty_data_renders() -> None:
    data = SummaryData(
        title="Mayotte (06)",
        as_of=date(2025, 1, 31),
        key_figures=[],
        indicators=[],
        decisions=[],
        monthly_hours=[],
        monthly_files=[],
        rules_version="",
    )
    page = render_summary_page(data)
    parser = parse(page)
    svgs = parser.of("svg")
    assert len(svgs) == 4
    assert all("aucune donnée" in (svg["aria-label"] or "") for svg in svgs)
    text = "".join(parser.text)
    assert text.count("aucune donnée") == 5  # four charts and the tiles
    assert "Situation au 31/01/2025" in text


@pytest.mark.parametrize(
    "indicator",
    [
        IndicatorBar("Heures", None, None),
        IndicatorBar("Heures", float("nan"), float("inf")),
        IndicatorBar("Heures", -5.0, 10.0),
        IndicatorBar("Heures", 0.0, 10.0),
    ],
)
def test_missing_and_odd_values(indicator: IndicatorBar) -> None:
    data = sample_data()
    data.indicators = [indicator]
    data.decisions = [("libérable", 0, Decimal("0"))]
    data.monthly_hours = [("2025-01", 0.0), ("2025-02", float("nan"))]
    data.monthly_files = [("2025-01", 0, 0)]
    page = render_summary_page(data)
    assert len(parse(page).of("svg")) == 4
    assert "nan" not in page.lower().replace("financ", "")
    assert "inf" not in page.lower().replace("information", "")


def test_many_months_thin_out_labels() -> None:
    data = sample_data()
    data.monthly_hours = [(f"{2023 + m // 12}-{m % 12 + 1:02d}", 1000.0 * m) for m in range(36)]
    data.monthly_files = [(f"{2023 + m // 12}-{m % 12 + 1:02d}", m, m % 3) for m in range(36)]
    parser = parse(render_summary_page(data))
    text = parser.text
    assert sum(1 for t in text if t == "janv.") >= 2
    assert len(parser.of("svg")) == 4


# --------------------------------------------------------------------------------------------
# Public procurement (contract §8) and the national comparison
# --------------------------------------------------------------------------------------------


def procurement_years() -> list[ProcurementYear]:
    return [
        ProcurementYear(2025, 560, 230, 0.4107, 0.30, 156, 0.6783),
        ProcurementYear(2024, 453, 110, 0.2428, 0.30, 0, 0.0),
        ProcurementYear(2026, 12, 0, 0.0, 0.25, 0, None),  # no contract with a consideration
    ]


def national_data() -> SummaryData:
    data = sample_data(title="France entière")
    data.procurement = procurement_years()
    regions = [
        RegionComparison(f"Région {code} ({code:02d})", 0.02 * code, 0.30, 0.05 * code, code, 2.0)
        for code in range(1, 17)
    ]
    regions.append(RegionComparison("Mayotte (06)", None, 0.30, None, None, None))
    regions.append(RegionComparison("Provence-Alpes-Côte d'Azur (93)", 0.95, 0.30, 1.0, 0, 3.5))
    data.national = NationalComparison(
        year=2025,
        regions=regions,
        progress=[FteProgress(2024, 412.5, 450.0, 585.0), FteProgress(2025, 601.25, 640.0, 585.0)],
    )
    return data


def _labels(page: str) -> list[str]:
    return [svg["aria-label"] or "" for svg in parse(page).of("svg")]


def test_procurement_chart_on_a_region_page() -> None:
    data = sample_data()
    data.procurement = procurement_years()
    page = render_summary_page(data)
    labels = _labels(page)
    assert len(labels) == 5
    said = labels[4]
    # years in order, share and coverage as percentages, the year's own target
    assert said.index("2024 :") < said.index("2025 :") < said.index("2026 :")
    assert f"2025 : 560 contrats, 41{NNBSP}% avec considération sociale" in said
    assert f"68{NNBSP}% accompagnés par un facilitateur, objectif 30{NNBSP}%" in said
    assert "2026 : 12 contrats, 0" in said
    assert f"accompagnés par un facilitateur : non calculable, objectif 25{NNBSP}%" in said
    text = "".join(parse(page).text)
    assert "Objectif PNAD" in text
    assert "560 contrats" in text and "—" in text  # the 2026 coverage cannot be computed
    # the dashed target line of each year
    assert page.count('stroke-dasharray="6 4"') == 3 + 1  # three years and the legend
    # no national comparison on a region page
    assert "Régions comparées" not in page


def test_no_procurement_chart_without_contracts() -> None:
    page = render_summary_page(sample_data())
    assert "considération sociale" not in page


def test_national_page_compares_the_regions_and_the_target() -> None:
    page = render_summary_page(national_data())
    labels = _labels(page)
    assert len(labels) == 7
    regions, target = labels[5], labels[6]
    assert regions.startswith("Régions comparées en 2025 :")
    assert regions.count(" ; ") == 17  # 18 regions
    assert f"Région 10 (10), part 20{NNBSP}%, couverture 50{NNBSP}%, 10,0 / 2,0 ETP" in regions
    assert "Mayotte (06), sans contrat compté, sans convention" in regions
    assert f"Provence-Alpes-Côte d'Azur (93), part 95{NNBSP}%, couverture 100{NNBSP}%" in regions
    assert "0,0 / 3,5 ETP en poste / conventionnés" in regions
    assert f"2024 : 412,5 ETP en poste (71{NNBSP}% de la cible de 585)" in target
    assert "450,0 ETP conventionnés" in target
    assert f"2025 : 601,3 ETP en poste (103{NNBSP}% de la cible de 585)" in target
    captions = [text for text in parse(page).text if text.startswith(("6.", "7."))]
    assert captions[0].startswith("6. Régions comparées en 2025")
    assert captions[1].startswith("7. ETP en poste rapportés à la cible nationale")
    # long names are cut to fit before the bars, the spoken label keeps them whole
    assert "Provence-Alpes-Côte d'Azur (93)" in "".join(parse(page).text)


def test_national_page_without_data() -> None:
    data = sample_data(title="France entière")
    data.national = NationalComparison(year=None)
    labels = _labels(render_summary_page(data))
    assert len(labels) == 6  # no procurement chart: no contract counted
    assert labels[4].startswith("Régions comparées : ") and "aucune donnée" in labels[4]
    assert "aucune donnée" in labels[5]


def test_procurement_texts_and_odd_values() -> None:
    data = national_data()
    data.procurement.append(ProcurementYear(2027, 1, 1, float("nan"), None, 0, float("inf")))
    data.national.regions[0] = RegionComparison(HOSTILE, float("inf"), None, -1.0, -2.0, None)
    data.national.progress.append(FteProgress(2026, float("nan"), 0.0, 0.0))
    page = render_summary_page(data)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert len(parse(page).of("svg")) == 7
    assert "nan" not in page.lower().replace("financ", "")
    assert "inf" not in page.lower().replace("information", "")
    assert not re.search(r'(width|height)="-', page)
