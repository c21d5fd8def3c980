"""What people actually see: the summary page in a real browser, an extract in a real spreadsheet.

No mock: Debian's Chromium takes a screenshot of the summary page and dumps its DOM after
rendering; LibreOffice Calc converts an extract workbook to CSV (to read the cells back as
LibreOffice understood them) and to PDF. The screenshot and page 1 of the PDF are copied to
``test-artifacts/`` (git-ignored) for a human to look at.

The tools come from Debian's packages: `.ci/run` installs them (chromium, LibreOffice Calc,
poppler-utils) with `.ci/install-rendering-tools` when missing; a test never installs anything.
Without them the tests are skipped, unless the environment variable CI is set: then they fail.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clauses.contract.kinds import REGIONS
from clauses.publish.cells import Fmt, Table
from clauses.publish.extract import write_extract
from clauses.publish.page import (
    FteProgress,
    IndicatorBar,
    NationalComparison,
    ProcurementYear,
    RegionComparison,
    SummaryData,
    render_summary_page,
)

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_TIMEOUT = 180
SOFFICE_TIMEOUT = 300
WINDOW = (1200, 2400)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NNBSP = "\u202f"
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+cmd|' /C calc'!A0"


@dataclass(frozen=True)
class RenderingTools:
    chromium: str
    soffice: str
    pdftoppm: str | None


def _unavailable(message: str) -> None:
    """Skip, or fail when CI is set (there the tools must be available)."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _find_tools() -> tuple[str | None, str | None, str | None]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    return shutil.which("chromium"), soffice, shutil.which("pdftoppm")


@pytest.fixture(scope="session")
def rendering_tools() -> RenderingTools:
    """Chromium, LibreOffice Calc and (if present) pdftoppm, as `.ci/run` installs them."""
    chromium, soffice, pdftoppm = _find_tools()
    if not chromium or not soffice:
        _unavailable("chromium or LibreOffice missing: run .ci/install-rendering-tools (root)")
    assert chromium and soffice  # for the type checker: _unavailable does not return
    return RenderingTools(chromium, soffice, pdftoppm)


# --------------------------------------------------------------------------------------------
# The summary page in Chromium
# --------------------------------------------------------------------------------------------


def _summary() -> SummaryData:
    """A plausible region: every chart filled, one indicator beyond its objective, a reversement."""
    return SummaryData(
        title="Île-de-France (11)",
        as_of=date(2025, 6, 30),
        key_figures=[
            ("Conventions suivies", "42"),
            ("ETP en poste", f"37,5{NNBSP}ETP"),
            ("Heures d'insertion", f"1{NNBSP}234{NNBSP}567"),
            ("Bénéficiaires", f"3{NNBSP}204"),
            ("Montant proposé", f"1{NNBSP}013{NNBSP}154,83{NNBSP}€"),
            ("Fichiers refusés", "3"),
        ],
        indicators=[
            IndicatorBar("Heures d'insertion", 1234.5, 1500.0),
            IndicatorBar("Bénéficiaires (personnes physiques)", 41.25, 35.0),
            IndicatorBar("Bénéficiaires en ETP (1 607 heures par an)", 0.62, 0.9),
            IndicatorBar("Structures inclusives mobilisées (SIAE, EA, ESAT, GEIQ)", 12.0, 5.0),
            IndicatorBar("Contacts avec les acheteurs du territoire", 18.4, None),
            IndicatorBar("Marchés accompagnés", None, 10.0),
            IndicatorBar("Partenariats développés", 2.5, 3.0),
        ],
        decisions=[
            ("libérable", 30, Decimal("845000.50")),
            ("à examiner", 6, Decimal("120500.00")),
            ("suspendu", 2, Decimal("60000")),
            ("reversement", 1, Decimal("-12345.67")),
            ("en cours", 3, Decimal("0")),
        ],
        monthly_hours=[
            ("2024-07", 61_000.0),
            ("2024-08", 22_500.0),
            ("2024-09", 88_250.0),
            ("2024-10", 97_400.0),
            ("2024-11", 93_120.0),
            ("2024-12", 70_010.0),
            ("2025-01", 90_500.0),
            ("2025-02", 96_300.0),
            ("2025-03", 104_800.0),
            ("2025-04", 99_900.0),
            ("2025-05", 87_650.0),
            ("2025-06", 110_300.0),
        ],
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


def _chromium(tools: RenderingTools, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    command = [
        tools.chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    env = dict(os.environ, HOME=str(tmp_path))
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, env=env
    )
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature and the chunk's CRC."""
    data = path.read_bytes()[:33]
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(data[12:29]) == crc, "corrupt IHDR chunk"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class _SvgCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, str | None]] = []
        self.shapes = 0
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self.svgs.append(dict(attrs))
        elif tag in ("rect", "line", "text", "polygon"):
            self.shapes += 1
        elif tag == "script":
            self.scripts += 1

    handle_startendtag = handle_starttag


def test_summary_page_in_chromium(rendering_tools: RenderingTools, tmp_path: Path) -> None:
    page = tmp_path / "synthese.html"
    page.write_text(render_summary_page(_summary()), encoding="utf-8")
    png = tmp_path / "synthese.png"

    _chromium(
        rendering_tools,
        tmp_path,
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={png}",
        page.as_uri(),
    )
    assert png.is_file()
    assert _png_size(png) == WINDOW
    assert png.stat().st_size > 20_000, "the screenshot looks blank"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / "summary.png")

    dom = _chromium(rendering_tools, tmp_path, "--dump-dom", page.as_uri()).stdout
    counter = _SvgCounter()
    counter.feed(dom)
    assert len(counter.svgs) == 4
    assert all(svg.get("role") == "img" and svg.get("aria-label") for svg in counter.svgs)
    assert counter.shapes > 100
    assert counter.scripts == 0
    assert "Situation au <strong>30/06/2025</strong>" in dom
    assert "aucune donnée" not in dom


def test_national_page_in_chromium(rendering_tools: RenderingTools, tmp_path: Path) -> None:
    """The national page's seven charts: the four of a region, the share of public contracts
    against the PNAD target, the 18 regions compared and the FTE against the national target."""
    data = _summary()
    data.title = "France entière"
    data.procurement = [
        ProcurementYear(2024, 410_000, 98_000, 0.239, 0.30, 41_000, 0.4184),
        ProcurementYear(2025, 402_500, 121_000, 0.3006, 0.30, 50_000, 0.4132),
    ]
    data.national = NationalComparison(
        year=2025,
        regions=[
            RegionComparison(f"{name} ({code})", 0.15 + index / 60, 0.30, index / 20, index, 18.0)
            for index, (code, (name, _)) in enumerate(REGIONS.items())
        ],
        progress=[FteProgress(2024, 401.5, 430.0, 585.0), FteProgress(2025, 466.0, 512.5, 585.0)],
    )
    page = tmp_path / "synthese.html"
    page.write_text(render_summary_page(data), encoding="utf-8")
    png = tmp_path / "national.png"
    _chromium(
        rendering_tools,
        tmp_path,
        f"--window-size={WINDOW[0]},{WINDOW[1] + 1200}",
        f"--screenshot={png}",
        page.as_uri(),
    )
    assert _png_size(png) == (WINDOW[0], WINDOW[1] + 1200)
    assert png.stat().st_size > 40_000, "the screenshot looks blank"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / "national.png")

    dom = _chromium(rendering_tools, tmp_path, "--dump-dom", page.as_uri()).stdout
    counter = _SvgCounter()
    counter.feed(dom)
    assert len(counter.svgs) == 7
    assert counter.shapes > 250
    labels = [svg.get("aria-label") or "" for svg in counter.svgs]
    assert labels[5].startswith("Régions comparées en 2025")
    assert all(f"{name} ({code})" in labels[5] for code, (name, _) in REGIONS.items())
    assert "de la cible de 585" in labels[6]
    assert "aucune donnée" not in dom


# --------------------------------------------------------------------------------------------
# An extract workbook in LibreOffice Calc
# --------------------------------------------------------------------------------------------

WORKBOOK = "conformite_11_2025-06-30.xlsx"


def _extract_tables() -> list[Table]:
    conventions = Table(
        name="conventions",
        sheet="Conventions",
        columns=[
            ("N° convention", Fmt.TEXT),
            ("Date de début", Fmt.DATE),
            ("Montant proposé", Fmt.EUR),
            ("ETP en poste", Fmt.DEC4),
            ("Volets", Fmt.INT),
            ("Commentaire", Fmt.TEXT),
        ],
        rows=[
            ("11-2025-001", date(2025, 1, 15), Decimal("12345.675"), 0.83333333, 2, HYPERLINK),
            ("11-2025-002", date(2024, 12, 1), Decimal("-1500.5"), Decimal("1.5"), 1, DDE),
            ("11-2025-003", None, None, None, None, "Maison de l'emploi ; « Clause »"),
        ],
    )
    synthese = Table(
        name="synthese",
        sheet="Synthèse",
        columns=[("Décision", Fmt.TEXT), ("Volets", Fmt.INT), ("Montant", Fmt.EUR)],
        rows=[("libérable", 30, Decimal("845000.5")), ("reversement", 1, Decimal("-12345.67"))],
    )
    return [conventions, synthese]


# LibreOffice reads its locale from the profile: French, as on the agents' computers (dates
# JJ/MM/AAAA, decimal comma), whatever the glibc locales of the machine.
LO_FRENCH_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse">
<value>fr-FR</value></prop></item>
</oor:items>
"""


def _soffice(tools: RenderingTools, tmp_path: Path, *args: str) -> None:
    """Run soffice headless with a private profile set to the French locale."""
    profile = tmp_path / "lo-profile"
    settings = profile / "user" / "registrymodifications.xcu"
    if not settings.exists():
        settings.parent.mkdir(parents=True)
        settings.write_text(LO_FRENCH_PROFILE, encoding="utf-8")
    command = [
        tools.soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        *args,
    ]
    # A UTF-8 process locale: the CSV of each sheet is named after the sheet ("Synthèse"), and
    # under a non-UTF-8 locale LibreOffice writes that name in Latin-1 or not at all.
    env = dict(os.environ, HOME=str(tmp_path), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT, env=env
    )
    assert result.returncode == 0, (
        f"soffice failed: {result.stdout[-1000:]} {result.stderr[-1000:]}"
    )


def _soffice_version(tools: RenderingTools) -> tuple[int, int]:
    result = subprocess.run(
        [tools.soffice, "--version"], capture_output=True, text=True, timeout=SOFFICE_TIMEOUT
    )
    match = re.search(r"(\d+)\.(\d+)", result.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=";", quotechar='"'))


def test_extract_in_libreoffice(rendering_tools: RenderingTools, tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path / "extrait",
        workbook_name=WORKBOOK,
        tables=_extract_tables(),
        manifest_extra={"as_of": "2025-06-30", "rules_version": "2025.1", "region": "11"},
    )
    xlsx = folder / WORKBOOK
    out = tmp_path / "converted"
    out.mkdir()

    every_sheet = _soffice_version(rendering_tools) >= (7, 2)
    options = "59,34,76,1,,0,false,true,false,false,false" + (",-1" if every_sheet else "")
    _soffice(
        rendering_tools,
        tmp_path,
        "--convert-to",
        f"csv:Text - txt - csv (StarCalc):{options}",
        "--outdir",
        str(out),
        str(xlsx),
    )
    stem = xlsx.stem
    if every_sheet:
        conventions_csv = out / f"{stem}-Conventions.csv"
        synthese_csv = out / f"{stem}-Synthèse.csv"
        assert synthese_csv.is_file(), sorted(p.name for p in out.iterdir())
        synthese = _read_csv(synthese_csv)
        assert synthese[0] == ["Décision", "Volets", "Montant"]
        assert [row[0] for row in synthese[1:]] == ["libérable", "reversement"]
        assert [row[1:] for row in synthese[1:]] == [["30", "845000,5"], ["1", "-12345,67"]]
    else:
        conventions_csv = out / f"{stem}.csv"
    assert conventions_csv.is_file(), sorted(p.name for p in out.iterdir())

    rows = _read_csv(conventions_csv)
    assert rows[0] == [
        "N° convention",
        "Date de début",
        "Montant proposé",
        "ETP en poste",
        "Volets",
        "Commentaire",
    ]
    # Values as LibreOffice read them ("as shown" off: no thousands separator, no € sign).
    assert rows[1:] == [
        ["11-2025-001", "15/01/2025", "12345,68", "0,8333", "2", HYPERLINK],
        ["11-2025-002", "01/12/2024", "-1500,5", "1,5", "1", DDE],
        ["11-2025-003", "", "", "", "", "Maison de l'emploi ; « Clause »"],
    ]
    # The formula payloads stayed plain text: LibreOffice did not evaluate them.
    assert rows[1][5] != "y"

    _soffice(rendering_tools, tmp_path, "--convert-to", "pdf", "--outdir", str(out), str(xlsx))
    pdf = out / f"{stem}.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if rendering_tools.pdftoppm is None:
        log.warning("pdftoppm missing: no image of the workbook")
        return
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [
            rendering_tools.pdftoppm,
            "-png",
            "-r",
            "110",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / "workbook"),
        ],
        check=True,
        capture_output=True,
        timeout=SOFFICE_TIMEOUT,
    )
    image = ARTIFACTS / "workbook.png"
    width, height = _png_size(image)
    assert width > 500 and height > 500
