"""Big files are read by batches, never whole (issue #3): a 1 GB CSV and a 100 MB workbook load
in a process whose peak memory stays under 1 GiB, a broken one is quarantined whole, a workbook
with a million empty formatted rows reads in a few hundred megabytes.

Each ingestion runs in a child process (`clauses.load.ingest.ingest_regions`, what `clauses run`
does before computing) that reports its peak RSS when it ends. The files are written by
vectorised writers (xlsxwriter would need minutes for 100 MB)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from support.contract_files import make_siret

from clauses.contract.kinds import KINDS, Kind
from clauses.warehouse.engine import make_engine

GIB = 1 << 30
RECEIVED = "2024-06-01"
HEADERS = [c.header for c in KINDS[Kind.HEURES].columns] + ["Commentaire"]

INGEST = """
import json, sys
from dataclasses import asdict
from datetime import date
from clauses.config import load_settings
from clauses.load.ingest import ingest_regions
from clauses.receive.landing import scan_landing
from clauses.run.pipeline import prepare_warehouse

settings = load_settings()
engine = prepare_warehouse(settings)
by_region = {}
for entry in scan_landing(settings.landing_dir, date.fromisoformat(sys.argv[1])).entries:
    by_region.setdefault(entry.region, []).append(entry)
outcomes = ingest_regions(engine, settings, by_region, "big-files")
print(json.dumps({region: asdict(outcome) for region, outcome in outcomes.items()}))
"""

READ = """
import json, sys
from pathlib import Path
from clauses.read.files import open_file

opened = open_file(Path(sys.argv[1]))
rows = [[int(b.rows[0]), int(b.rows[-1]), len(b)] for t in opened.tables for b in t.batches()]
print(json.dumps({"whole": opened.whole, "batches": rows}))
"""


# The child's own peak: VmHWM, the high-water mark of its address space since exec. (The
# rusage of a child also counts what it shared with its parent before exec: here, a parent
# that has just written a gigabyte.)
PEAK = """
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(peak * 1024)
"""


@dataclass
class Child:
    output: str
    peak_rss: int  # bytes


def run_child(code: str, *args: str, data_dir: Path | None = None) -> Child:
    """Run ``code`` in a child Python; its output and its peak resident memory."""
    env = {**os.environ, "CLAUSES_PSEUDONYM_KEY": "big-files-key", "GX_ANALYTICS_ENABLED": "False"}
    env.pop("CLAUSES_WAREHOUSE_URL", None)
    if data_dir is not None:
        env["CLAUSES_DATA_DIR"] = str(data_dir)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code + PEAK, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        out, _ = process.communicate(timeout=900)
        log.seek(0)
        assert process.returncode == 0, log.read().decode()[-3000:]
    output, peak = out.decode().rstrip("\n").rsplit("\n", 1)
    return Child(output, int(peak))


# ---- A 1 GB Heures CSV, written with numpy ----------------------------------------------------


@dataclass
class CsvLayout:
    rows: int
    header: int  # bytes of the header line
    width: int  # bytes of every data line
    hours: int  # offset of "Heures réalisées" in a line


def write_heures_csv(path: Path, size: int, comment: int = 2000, seed: int = 0) -> CsvLayout:
    """Fixed-width Heures rows (unique participants, valid values) and a long comment each,
    until ``size`` bytes."""
    rng = np.random.default_rng(seed)
    porteurs = [make_siret(f"{31000000 + i:08d}", "0001") for i in range(8)]
    fields = [
        "0" * 14,  # SIRET porteur
        "2024-01",  # Mois
        "OP-0000",  # Code opération
        "M-2024-000",  # N° marché
        "1",  # N° lot
        make_siret("05521005", "5400"),
        "Autre",
        make_siret("00123456", "0001"),
        "ETTI",
        "P000000000",  # ID participant
        "DELD",
        "CDI",
        "000.5",  # Heures réalisées
        "0",
        "F",
        "1900",  # Année de naissance
        "x" * comment,
    ]
    offsets = np.cumsum([0] + [len(f.encode()) + 1 for f in fields])
    template = (";".join(fields) + "\r\n").encode()
    width = len(template)
    header = (";".join(HEADERS) + "\r\n").encode("utf-8")
    rows = (size - len(header)) // width + 1
    pool = rng.integers(97, 123, size=1 << 22, dtype=np.uint8)  # comments cut from a pool
    sirets = np.frombuffer("".join(porteurs).encode(), dtype=np.uint8).reshape(-1, 14)
    with path.open("wb") as out:
        out.write(header)
        for first in range(0, rows, 20_000):
            count = min(20_000, rows - first)
            block = np.frombuffer(template * count, dtype=np.uint8).reshape(count, width).copy()
            index = np.arange(first, first + count)

            def digits(at: int, values: np.ndarray, k: int, block: np.ndarray = block) -> None:
                for d in range(k):
                    block[:, at + k - 1 - d] = 48 + (values // 10**d) % 10

            block[:, offsets[0] : offsets[0] + 14] = sirets[index % len(porteurs)]
            digits(int(offsets[1]) + 5, 1 + (index // 8) % 12, 2)
            digits(int(offsets[2]) + 3, index % 10_000, 4)
            digits(int(offsets[3]) + 7, index % 1000, 3)
            digits(int(offsets[9]) + 1, index, 9)
            digits(int(offsets[12]), (index * 7) % 200, 3)
            block[:, offsets[14]] = np.where(index % 2 == 0, ord("F"), ord("H"))
            digits(int(offsets[15]) + 2, 40 + index % 60, 2)
            starts = rng.integers(0, len(pool) - comment, size=count)
            windows = np.lib.stride_tricks.sliding_window_view(pool, comment)
            block[:, offsets[16] : offsets[16] + comment] = windows[starts]
            out.write(block.tobytes())
    return CsvLayout(rows, len(header), width, int(offsets[12]))


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CsvLayout]]:
    path = tmp_path_factory.mktemp("big_csv") / "heures_2024.csv"
    layout = write_heures_csv(path, GIB + (1 << 20))
    yield path, layout
    path.unlink(missing_ok=True)


def landing_with(tmp_path: Path, source: Path, name: str) -> Path:
    data = tmp_path / "data"
    folder = data / "landing" / "11" / RECEIVED
    folder.mkdir(parents=True)
    shutil.copyfile(source, folder / name)
    return data


def count_rows(data: Path, table: str) -> int:
    with make_engine(f"sqlite:///{data / 'warehouse.sqlite'}").connect() as connection:
        return int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def test_one_gigabyte_csv_loads_in_less_than_one_gibibyte(
    big_csv: tuple[Path, CsvLayout], tmp_path: Path
) -> None:
    source, layout = big_csv
    assert source.stat().st_size >= GIB
    data = landing_with(tmp_path, source, "heures_2024.csv")
    try:
        child = run_child(INGEST, "2024-06-30", data_dir=data)
        outcome = json.loads(child.output)["11"]
        assert (outcome["loaded"], outcome["quarantined"], outcome["error"]) == (1, 0, None)
        assert outcome["rows_loaded"] == layout.rows
        assert count_rows(data, "stg_heures") == layout.rows
        assert child.peak_rss < GIB, f"peak RSS {child.peak_rss >> 20} MiB"
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_one_gigabyte_csv_with_a_bad_row_near_the_end_is_quarantined_whole(
    big_csv: tuple[Path, CsvLayout], tmp_path: Path
) -> None:
    source, layout = big_csv
    data = landing_with(tmp_path, source, "heures_2024_corrige.csv")
    landed = data / "landing" / "11" / RECEIVED / "heures_2024_corrige.csv"
    bad_index = layout.rows - 1000  # in the last batch but one or the last
    line = bad_index + 2
    with landed.open("r+b") as handle:  # 999.5 hours in a month: out of range, blocking
        handle.seek(layout.header + bad_index * layout.width + layout.hours)
        handle.write(b"999")
    try:
        child = run_child(INGEST, "2024-06-30", data_dir=data)
        outcome = json.loads(child.output)["11"]
        assert (outcome["loaded"], outcome["quarantined"], outcome["rows_loaded"]) == (0, 1, 0)
        assert count_rows(data, "stg_heures") == 0  # the batches loaded before were rolled back
        quarantine = data / "quarantine" / "11" / RECEIVED
        assert sha256(quarantine / landed.name) == sha256(landed)
        report = (quarantine / f"{landed.name}.rapport.txt").read_text(encoding="utf-8")
        assert f"ligne {line} : 999.5" in report
        assert "Heures réalisées" in report and "1 ligne(s) concernée(s)" in report
        assert child.peak_rss < GIB, f"peak RSS {child.peak_rss >> 20} MiB"
    finally:
        shutil.rmtree(data, ignore_errors=True)


# ---- Big workbooks, written as XML --------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _shared(strings: list[str]) -> str:
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">{items}</sst>'
    )


def _column(index: int) -> str:
    return chr(65 + index) if index < 26 else "A" + chr(65 + index - 26)


def write_workbook(
    path: Path, rows: int, comment: int, empty_rows: int = 0, seed: int = 1
) -> tuple[int, int]:
    """An Heures workbook as Excel writes it (shared strings, numbers, date cells, inline
    strings), ``rows`` data rows with a comment of ``comment`` letters, then ``empty_rows``
    formatted empty rows and a Total row. Returns (first data row, last data row)."""
    strings = [*HEADERS[:-1], "Commentaire", "Autre", "ETTI", "DELD", "CDI", "F", "H", "Total"]
    s = {text: i for i, text in enumerate(strings)}
    header = "".join(f'<c r="{_column(i)}1" t="s"><v>{s[h]}</v></c>' for i, h in enumerate(HEADERS))
    pool = "".join(chr(c) for c in np.random.default_rng(seed).integers(97, 123, 1 << 20))
    donneur, employeur = make_siret("05521005", "5400"), make_siret("00123456", "0001")
    porteurs = [make_siret(f"{31000000 + i:08d}", "0001") for i in range(8)]
    sex = (s["F"], s["H"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="rels" ContentType="application'
            '/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            f'ContentType="{_TYPES}.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            f'sheet1.xml" ContentType="{_TYPES}.worksheet+xml"/><Override PartName="/xl/'
            f'styles.xml" ContentType="{_TYPES}.styles+xml"/><Override PartName="/xl/'
            f'sharedStrings.xml" ContentType="{_TYPES}.sharedStrings+xml"/></Types>',
        )
        package.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE}">'
            f'<Relationship Id="rId1" Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        package.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_RELS}">'
            '<sheets><sheet name="Heures" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        package.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE}">'
            f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId3" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
        package.writestr(
            "xl/styles.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{_MAIN}"><fonts count="1">'
            '<font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/>'
            '</borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="3"><xf/>'
            '<xf numFmtId="14" applyNumberFormat="1"/><xf fillId="0" applyFill="1"/></cellXfs>'
            "</styleSheet>",
        )
        package.writestr("xl/sharedStrings.xml", _shared(strings))
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
                f'xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheetData><row r="1">{header}</row>'.encode()
            )
            parts: list[str] = []
            for i in range(rows):
                r = i + 2
                start = (i * 7919) % (len(pool) - comment)
                parts.append(
                    f'<row r="{r}"><c r="A{r}"><v>{porteurs[i % 8]}</v></c>'
                    f'<c r="B{r}" s="1"><v>{45292 + 31 * ((i // 8) % 12)}</v></c>'
                    f'<c r="C{r}" t="inlineStr"><is><t>OP-{i % 9999}</t></is></c>'
                    f'<c r="D{r}" t="inlineStr"><is><t>M-2024-{i % 999}</t></is></c>'
                    f'<c r="E{r}"><v>{i % 7}</v></c><c r="F{r}" t="str"><v>{donneur}</v></c>'
                    f'<c r="G{r}" t="s"><v>{s["Autre"]}</v></c>'
                    f'<c r="H{r}" t="str"><v>{employeur}</v></c>'
                    f'<c r="I{r}" t="s"><v>{s["ETTI"]}</v></c>'
                    f'<c r="J{r}" t="inlineStr"><is><t>P{i:09d}</t></is></c>'
                    f'<c r="K{r}" t="s"><v>{s["DELD"]}</v></c>'
                    f'<c r="L{r}" t="s"><v>{s["CDI"]}</v></c>'
                    f'<c r="M{r}"><v>{(i * 7) % 200}.5</v></c><c r="N{r}"><v>0</v></c>'
                    f'<c r="O{r}" t="s"><v>{sex[i % 2]}</v></c><c r="P{r}"><v>{1940 + i % 60}</v>'
                    f'</c><c r="Q{r}" t="inlineStr"><is><t>{pool[start : start + comment]}</t>'
                    "</is></c></row>"
                )
                if len(parts) == 20_000:
                    sheet.write("".join(parts).encode())
                    parts = []
            sheet.write("".join(parts).encode())
            first_empty = rows + 2
            for block in range(first_empty, first_empty + empty_rows, 50_000):
                last = min(block + 50_000, first_empty + empty_rows)
                sheet.write(
                    "".join(
                        f'<row r="{r}" s="2" customFormat="1"><c r="A{r}" s="2"/>'
                        f'<c r="P{r}" s="2"/></row>'
                        for r in range(block, last)
                    ).encode()
                )
            total = first_empty + empty_rows
            sheet.write(
                f'<row r="{total}"><c r="A{total}" t="s"><v>{s["Total"]}</v></c>'
                f'<c r="M{total}"><v>1</v></c></row></sheetData></worksheet>'.encode()
            )
    return 2, rows + 1


def test_hundred_megabyte_workbook_loads_in_less_than_one_gibibyte(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = data / "landing" / "11" / RECEIVED
    folder.mkdir(parents=True)
    path = folder / "export_heures.xlsx"
    rows = 300_000
    try:
        write_workbook(path, rows, comment=480)
        assert path.stat().st_size >= 100_000_000
        child = run_child(INGEST, "2024-06-30", data_dir=data)
        outcome = json.loads(child.output)["11"]
        assert (outcome["loaded"], outcome["quarantined"], outcome["error"]) == (1, 0, None)
        assert outcome["rows_loaded"] == rows == count_rows(data, "stg_heures")
        with make_engine(f"sqlite:///{data / 'warehouse.sqlite'}").connect() as connection:
            first = connection.execute(
                sa.text(
                    "SELECT row_number, mois, siret_porteur, heures_realisees FROM stg_heures "
                    "ORDER BY row_number LIMIT 1"
                )
            ).one()
        assert tuple(first) == (2, "2024-01", make_siret("31000000", "0001"), 0.5)
        assert child.peak_rss < GIB, f"peak RSS {child.peak_rss >> 20} MiB"
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_million_empty_formatted_rows_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "mis_en_forme.xlsx"
    write_workbook(path, 300, comment=10, empty_rows=1_000_000)
    child = run_child(READ, str(path))
    path.unlink()
    result = json.loads(child.output)
    assert not result["whole"]
    rows = [row for first, last, n in result["batches"] for row in range(first, last + 1)]
    assert rows == list(range(2, 302))  # the data; neither the empty rows nor the Total
    # Read whole, calamine's grid would span a million rows x 16 columns (and Python lists
    # of them): gigabytes. By slices, what a child with pyarrow and pandas needs.
    assert child.peak_rss < 400 << 20, f"peak RSS {child.peak_rss >> 20} MiB"
