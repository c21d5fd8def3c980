"""Tests of the extract writer (contract §7): workbook, CSV, manifest, atomic publication."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import stat
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from clauses.publish import atomic, extract
from clauses.publish.cells import Fmt, Table, format_csv_value, neutralize_formula
from clauses.publish.extract import write_extract

HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+cmd|' /C calc'!A0"
WORKBOOK = "conformite_11_2025-06-30.xlsx"
EXTRA = {
    "as_of": "2025-06-30",
    "rules_version": "2025.1",
    "region": "11",
    "sources": [{"file": "heures.csv", "sha256": "ab" * 32}],
}

CONVENTION_COLUMNS: list[tuple[str, Fmt]] = [
    ("N° convention", Fmt.TEXT),
    ("Millésime", Fmt.INT),
    ("SIRET porteur", Fmt.TEXT),
    ("Raison sociale", Fmt.TEXT),
    ("Volet", Fmt.TEXT),
    ("ETP conventionnés", Fmt.DEC4),
    ("Fraction en poste", Fmt.DEC4),
    ("ETP en poste", Fmt.DEC4),
    ("Heures", Fmt.DEC2),
    ("Bénéficiaires", Fmt.INT),
    ("Atteinte globale", Fmt.PERCENT),
    ("Subvention éligible", Fmt.EUR),
    ("Avance versée", Fmt.EUR),
    ("Solde théorique", Fmt.EUR),
    ("Décision", Fmt.TEXT),
    ("Montant proposé", Fmt.EUR),
    ("Règles en échec", Fmt.TEXT),
]
# fmt: off
CONVENTION_ROWS: list[tuple] = [
    ("C-2024-001", 2024, "00012345600018", HYPERLINK, "facilitateur", 1.0, 0.00005, 0.5,
     2.675, 12, 0.85, Decimal("42000.005"), 30000, Decimal("12000.01"), "libérable",
     Decimal("12000.01"), ""),
    ("C-2024-002", 2024, "00012345600026", DDE, "coordinateur", 0.5, 1.0, 0.5,
     None, None, None, 14000.0, 20000, -6000.0, "reversement", -12.5, "R06|R08"),
    ("C-2025-003", 2025, "00012345600034", "Atelier; « Sud »", "facilitateur", 2.0, 0.25,
     0.5, 1234567.891, 3, 1.0, 0.0, 0, 0.0, "en cours", None, "R04"),
]
# fmt: on
ANOMALY_COLUMNS: list[tuple[str, Fmt]] = [
    ("N° convention", Fmt.TEXT),
    ("Millésime", Fmt.INT),
    ("Volet", Fmt.TEXT),
    ("Règle", Fmt.TEXT),
    ("Niveau", Fmt.TEXT),
    ("Mesuré", Fmt.TEXT),
    ("Attendu", Fmt.TEXT),
    ("Explication", Fmt.TEXT),
]
# fmt: off
ANOMALY_ROWS: list[tuple] = [
    ("C-2024-002", 2024, "coordinateur", "R06", "bloquant", "", "bilan annuel reçu",
     "Le bilan annuel n'a pas été reçu."),
    ("C-2025-003", 2025, "facilitateur", "R04", "bloquant", "-", "date de recrutement",
     "@SUM(1+1) : poste non pourvu"),
]
# fmt: on
FILE_COLUMNS: list[tuple[str, Fmt]] = [
    ("Fichier", Fmt.TEXT),
    ("SHA-256", Fmt.TEXT),
    ("Date de réception", Fmt.DATE),
    ("Type", Fmt.TEXT),
    ("Statut", Fmt.TEXT),
    ("Lignes", Fmt.INT),
    ("Motif", Fmt.TEXT),
]
FILE_ROWS: list[tuple] = [
    ("heures juin.csv", "cd" * 32, date(2025, 6, 30), "Heures", "chargé", 1200, ""),
    ("=1+1.xlsx", "", date(2025, 1, 2), "", "refusé", None, "\tnom de fichier refusé"),
]


def _tables() -> list[Table]:
    return [
        Table("conventions", "Conventions", CONVENTION_COLUMNS, list(CONVENTION_ROWS)),
        Table("anomalies", "Anomalies", ANOMALY_COLUMNS, list(ANOMALY_ROWS)),
        Table("fichiers", "Fichiers", FILE_COLUMNS, list(FILE_ROWS)),
    ]


def _write(target: Path, tables: list[Table] | None = None, **extra: object) -> Path:
    return write_extract(
        target,
        workbook_name=WORKBOOK,
        tables=_tables() if tables is None else tables,
        manifest_extra={**EXTRA, **extra},
    )


def _read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=";"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _hidden_siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith("."))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "extracts" / "11" / "2025-06-30"


# ---------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (None, Fmt.DEC2, ""),
        (float("nan"), Fmt.DEC4, ""),
        (0.00005, Fmt.DEC4, "0,0001"),
        (2.675, Fmt.DEC2, "2,68"),
        (2.675, Fmt.EUR, "2,68"),
        (-12.5, Fmt.EUR, "-12,50"),
        (-0.00001, Fmt.DEC4, "0,0000"),
        (1234567.891, Fmt.DEC2, "1234567,89"),
        (Decimal("42000.005"), Fmt.EUR, "42000,01"),
        (Decimal("-0.125"), Fmt.DEC2, "-0,13"),
        (3, Fmt.DEC4, "3,0000"),
        (0.85, Fmt.PERCENT, "0,8500"),
        (1e-05, Fmt.PERCENT, "0,0000"),
        (1e20, Fmt.DEC2, "100000000000000000000,00"),
        (12, Fmt.INT, "12"),
        (12.0, Fmt.INT, "12"),
        (Decimal("7"), Fmt.INT, "7"),
        (date(2025, 1, 2), Fmt.DATE, "2025-01-02"),
        (datetime(2025, 1, 2, 13, 45), Fmt.DATE, "2025-01-02"),
        ("texte", Fmt.TEXT, "texte"),
        ("-12", Fmt.TEXT, "'-12"),
        (2024, Fmt.TEXT, "2024"),
    ],
)
def test_format_csv_value(value: object, fmt: Fmt, expected: str) -> None:
    assert format_csv_value(value, fmt) == expected


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("12", Fmt.INT),
        (2.5, Fmt.INT),
        (True, Fmt.INT),
        (float("inf"), Fmt.DEC2),
        ("2025-01-02", Fmt.DATE),
        (1.5, Fmt.TEXT),
        (date(2025, 1, 2), Fmt.EUR),
    ],
)
def test_format_csv_value_refuses_a_value_that_does_not_fit(value: object, fmt: Fmt) -> None:
    with pytest.raises((TypeError, ValueError)):
        format_csv_value(value, fmt)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        (DDE, "'" + DDE),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_neutralize_formula(text: str, expected: str) -> None:
    assert neutralize_formula(text) == expected


# ---------------------------------------------------------------------------- the folder


def test_folder_holds_the_outputs_with_restrictive_permissions(target: Path) -> None:
    assert _write(target) == target
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [WORKBOOK, "conventions.csv", "anomalies.csv", "fichiers.csv", "manifest.json"]
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o750
    for path in target.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name
    assert _hidden_siblings(target) == []


def test_permissions_do_not_depend_on_the_umask(target: Path) -> None:
    previous = os.umask(0o077)
    try:
        _write(target)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    for path in target.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640


# ---------------------------------------------------------------------------- workbook


def test_workbook_sheets_headers_and_formats(target: Path) -> None:
    _write(target)
    workbook = openpyxl.load_workbook(target / WORKBOOK)
    assert workbook.sheetnames == ["Conventions", "Anomalies", "Fichiers"]
    for sheet, columns, rows in [
        (workbook["Conventions"], CONVENTION_COLUMNS, CONVENTION_ROWS),
        (workbook["Anomalies"], ANOMALY_COLUMNS, ANOMALY_ROWS),
        (workbook["Fichiers"], FILE_COLUMNS, FILE_ROWS),
    ]:
        header = [cell for cell in sheet[1]]
        assert [cell.value for cell in header] == [name for name, _ in columns]
        assert all(cell.font.b for cell in header)
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref is not None
        assert sheet.auto_filter.ref.startswith("A1:")
        assert sheet.max_row == len(rows) + 1
        width = sheet.column_dimensions["A"].width
        assert width is not None and width >= 8


def test_workbook_cells_are_typed_and_formatted(target: Path) -> None:
    _write(target)
    sheet = openpyxl.load_workbook(target / WORKBOOK)["Conventions"]
    col = {name: index + 1 for index, (name, _) in enumerate(CONVENTION_COLUMNS)}

    def cell(row: int, name: str):  # noqa: ANN202
        return sheet.cell(row=row, column=col[name])

    assert cell(2, "Millésime").value == 2024
    assert cell(2, "Millésime").data_type == "n"
    assert cell(2, "Millésime").number_format == "#,##0"
    assert cell(2, "Fraction en poste").value == pytest.approx(0.0001)
    assert cell(2, "Fraction en poste").number_format == "0.0000"
    assert cell(2, "Heures").value == pytest.approx(2.68)
    assert cell(2, "Heures").number_format == "#,##0.00"
    assert cell(2, "Atteinte globale").value == pytest.approx(0.85)
    assert cell(2, "Atteinte globale").number_format == "0.0%"
    assert cell(2, "Subvention éligible").value == pytest.approx(42000.01)
    assert cell(2, "Subvention éligible").number_format == '#,##0.00 "€"'
    assert cell(3, "Solde théorique").value == pytest.approx(-6000.0)
    assert cell(3, "Montant proposé").value == pytest.approx(-12.5)
    assert cell(3, "Montant proposé").data_type == "n"
    # None: an empty cell
    assert cell(3, "Heures").value is None
    assert cell(4, "Montant proposé").value is None
    # Text that looks like a number stays text
    assert cell(2, "SIRET porteur").value == "00012345600018"
    assert cell(2, "SIRET porteur").data_type == "s"


def test_workbook_never_holds_a_formula(target: Path) -> None:
    _write(target)
    workbook = openpyxl.load_workbook(target / WORKBOOK)
    conventions = workbook["Conventions"]
    assert conventions["D2"].value == HYPERLINK
    assert conventions["D2"].data_type == "s"
    assert conventions["D3"].value == DDE
    assert conventions["D3"].data_type == "s"
    assert workbook["Fichiers"]["A3"].value == "=1+1.xlsx"
    assert workbook["Fichiers"]["A3"].data_type == "s"
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for item in row:
                assert item.data_type != "f", item.coordinate
    assert not conventions._hyperlinks


def test_workbook_dates_are_date_cells(target: Path) -> None:
    _write(target)
    sheet = openpyxl.load_workbook(target / WORKBOOK)["Fichiers"]
    assert sheet["C2"].is_date
    assert sheet["C2"].value.date() == date(2025, 6, 30)
    assert sheet["C2"].number_format == "dd/mm/yyyy"
    assert sheet["C3"].value.date() == date(2025, 1, 2)
    assert sheet["F3"].value is None


# ---------------------------------------------------------------------------- CSV


def test_csv_format(target: Path) -> None:
    _write(target)
    rows = _read_csv(target / "conventions.csv")
    assert rows[0] == [name for name, _ in CONVENTION_COLUMNS]
    first, second, third = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert len(rows) == 4
    assert first["Millésime"] == "2024"
    assert first["ETP conventionnés"] == "1,0000"
    assert first["Fraction en poste"] == "0,0001"
    assert first["Heures"] == "2,68"
    assert first["Atteinte globale"] == "0,8500"
    assert first["Subvention éligible"] == "42000,01"
    assert first["Avance versée"] == "30000,00"
    assert first["Raison sociale"] == "'" + HYPERLINK
    assert first["Règles en échec"] == ""
    assert second["Raison sociale"] == "'" + DDE
    assert second["Heures"] == "" and second["Bénéficiaires"] == ""
    assert second["Solde théorique"] == "-6000,00"
    assert second["Montant proposé"] == "-12,50"
    assert second["Règles en échec"] == "R06|R08"
    assert third["Heures"] == "1234567,89"
    assert third["Raison sociale"] == "Atelier; « Sud »"
    assert third["Solde théorique"] == "0,00"


def test_csv_raw_bytes(target: Path) -> None:
    _write(target)
    raw = (target / "conventions.csv").read_bytes()
    assert raw.startswith("\ufeffN° convention;Millésime;".encode())
    assert b'"Atelier; \xc2\xab Sud \xc2\xbb"' in raw  # QUOTE_MINIMAL around the separator
    assert b";2,68;" in raw


def test_csv_dates_and_neutralised_text(target: Path) -> None:
    _write(target)
    files = _read_csv(target / "fichiers.csv")
    assert files[1] == ["heures juin.csv", "cd" * 32, "2025-06-30", "Heures", "chargé", "1200", ""]
    assert files[2] == [
        "'=1+1.xlsx",
        "",
        "2025-01-02",
        "",
        "refusé",
        "",
        "'\tnom de fichier refusé",
    ]
    anomalies = _read_csv(target / "anomalies.csv")
    assert anomalies[2][5] == "'-"
    assert anomalies[2][7] == "'@SUM(1+1) : poste non pourvu"


# ---------------------------------------------------------------------------- manifest


def test_manifest(target: Path) -> None:
    _write(target, libelle="Île-de-France")
    text = (target / "manifest.json").read_text(encoding="utf-8")
    assert '\n  "libelle": "Île-de-France"' in text  # indent 2, not ASCII-escaped
    manifest = json.loads(text)
    for key, value in EXTRA.items():
        assert manifest[key] == value
    outputs = manifest["outputs"]
    assert [item["file"] for item in outputs] == sorted(
        [WORKBOOK, "conventions.csv", "anomalies.csv", "fichiers.csv"]
    )
    rows = {item["file"]: item["rows"] for item in outputs}
    assert rows == {"conventions.csv": 3, "anomalies.csv": 2, "fichiers.csv": 2, WORKBOOK: 7}
    for item in outputs:
        digest = hashlib.sha256((target / item["file"]).read_bytes()).hexdigest()
        assert item["sha256"] == digest


def test_manifest_serialises_dates(target: Path) -> None:
    _write(target, as_of=date(2025, 6, 30))
    assert json.loads((target / "manifest.json").read_text("utf-8"))["as_of"] == "2025-06-30"


def test_workbook_is_reproducible_with_a_fixed_creation_time(tmp_path: Path) -> None:
    created = datetime(2025, 6, 30)
    digests = []
    for name in ("a", "b"):
        folder = tmp_path / name
        write_extract(
            folder, workbook_name=WORKBOOK, tables=_tables(), manifest_extra=EXTRA, created=created
        )
        digests.append(_snapshot(folder))
    assert digests[0] == digests[1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"workbook_name": "conformite.csv"},
        {"workbook_name": "../x.xlsx"},
        {"manifest_extra": {"outputs": []}},
        {"tables": []},
        {"tables": [Table("a", "A", [("x", Fmt.TEXT)]), Table("b", "a", [("x", Fmt.TEXT)])]},
        {"tables": [Table("../a", "A", [("x", Fmt.TEXT)])]},
        {"tables": [Table("a", "A", [("x", Fmt.TEXT)]), Table("a", "B", [("y", Fmt.INT)])]},
        {"tables": [Table("a", "A", [])]},
        {"tables": [Table("a", "A", [("x", "text")])]},  # type: ignore[list-item]
    ],
)
def test_invalid_arguments_are_refused(target: Path, kwargs: dict) -> None:
    arguments = {"workbook_name": WORKBOOK, "tables": _tables(), "manifest_extra": EXTRA}
    arguments.update(kwargs)
    with pytest.raises((ValueError, TypeError)):
        write_extract(target, **arguments)
    assert not target.exists()


def test_a_row_of_the_wrong_length_is_refused(target: Path) -> None:
    tables = _tables()
    tables[2].rows.append(("court",))
    with pytest.raises(ValueError, match="fichiers"):
        _write(target, tables)
    assert not target.exists()
    assert _hidden_siblings(target) == []


# ---------------------------------------------------------------------------- publication


def _second_tables() -> list[Table]:
    tables = _tables()
    tables[0].rows = tables[0].rows[:1]
    return tables


def test_a_second_extract_replaces_the_first(target: Path) -> None:
    _write(target)
    (target / "stray.txt").write_text("from an older layout")
    _write(target, _second_tables(), rules_version="2025.2")
    assert not (target / "stray.txt").exists()
    manifest = json.loads((target / "manifest.json").read_text("utf-8"))
    assert manifest["rules_version"] == "2025.2"
    assert len(_read_csv(target / "conventions.csv")) == 2
    assert _hidden_siblings(target) == []


def test_a_second_extract_replaces_the_first_without_exchange(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(target)
    monkeypatch.setattr(atomic, "_exchange_dirs", lambda first, second: False)
    _write(target, _second_tables(), rules_version="2025.2")
    manifest = json.loads((target / "manifest.json").read_text("utf-8"))
    assert manifest["rules_version"] == "2025.2"
    assert _hidden_siblings(target) == []


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "one").touch()
    (second / "two").touch()
    if not atomic._exchange_dirs(first, second):
        pytest.skip("no atomic exchange on this system")
    assert [p.name for p in first.iterdir()] == ["two"]
    assert [p.name for p in second.iterdir()] == ["one"]


def test_a_failure_while_writing_leaves_the_first_extract(target: Path) -> None:
    _write(target)
    before = _snapshot(target)
    tables = _second_tables()
    tables[2].rows.append(("x.csv", "", "2025-01-02", "", "refusé", None, ""))  # str date
    with pytest.raises(TypeError, match="date"):
        _write(target, tables)
    assert _snapshot(target) == before
    assert _hidden_siblings(target) == []


def test_a_failure_while_writing_the_workbook_leaves_the_first_extract(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(target)
    before = _snapshot(target)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(errno_enospc, "No space left on device")

    errno_enospc = 28
    monkeypatch.setattr(extract, "_write_manifest", crash)
    with pytest.raises(OSError, match="No space"):
        _write(target, _second_tables())
    assert _snapshot(target) == before
    assert _hidden_siblings(target) == []


@pytest.mark.parametrize("exchange", [True, False])
def test_a_failure_while_publishing_leaves_the_first_extract(
    target: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    _write(target)
    before = _snapshot(target)
    real_replace = os.replace
    calls: list[tuple[str, str]] = []

    def failing_replace(src: os.PathLike, dst: os.PathLike) -> None:
        calls.append((Path(src).name, Path(dst).name))
        if Path(src).name.startswith(".2025-06-30.tmp-"):
            raise OSError("simulated crash while renaming the new extract in")
        real_replace(src, dst)

    def failing_exchange(first: Path, second: Path) -> bool:
        raise OSError("simulated crash during the exchange")

    monkeypatch.setattr(os, "replace", failing_replace)
    monkeypatch.setattr(
        atomic, "_exchange_dirs", failing_exchange if exchange else (lambda a, b: False)
    )
    with pytest.raises(OSError, match="simulated"):
        _write(target, _second_tables())
    assert _snapshot(target) == before
    assert _hidden_siblings(target) == []
    if not exchange:
        assert calls[0][0] == "2025-06-30" and calls[0][1].startswith(".2025-06-30.old-")


def test_a_hard_crash_between_the_two_renames_is_recovered(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without exchange, a process killed after moving the old extract aside: the next call
    puts the old extract back before anything else."""
    _write(target)
    before = _snapshot(target)
    real_replace = os.replace
    state = {"dead": False}

    class Killed(BaseException):
        pass

    def dying_replace(src: os.PathLike, dst: os.PathLike) -> None:
        if state["dead"]:
            raise Killed  # a dead process runs no cleanup
        if Path(src).name.startswith(".2025-06-30.tmp-"):
            state["dead"] = True
            raise Killed
        real_replace(src, dst)

    real_rmtree = shutil.rmtree

    def dying_rmtree(*args: Any, **kwargs: Any) -> None:
        if state["dead"]:
            raise Killed
        real_rmtree(*args, **kwargs)

    monkeypatch.setattr(atomic, "_exchange_dirs", lambda a, b: False)
    monkeypatch.setattr(os, "replace", dying_replace)
    monkeypatch.setattr(shutil, "rmtree", dying_rmtree)
    with pytest.raises(Killed):
        _write(target, _second_tables())
    monkeypatch.undo()

    # The crash left the previous extract aside and an unfinished build behind.
    assert not target.exists()
    leftovers = _hidden_siblings(target)
    assert any(name.startswith(".2025-06-30.old-") for name in leftovers)
    assert any(name.startswith(".2025-06-30.tmp-") for name in leftovers)

    # The next call, even one that fails, first puts the previous extract back.
    broken = _tables()
    broken[1].rows.append(("x",))
    with pytest.raises(ValueError):
        _write(target, broken)
    assert _snapshot(target) == before
    assert _hidden_siblings(target) == []

    # And a successful one replaces it.
    _write(target, _second_tables(), rules_version="2025.2")
    assert json.loads((target / "manifest.json").read_text("utf-8"))["rules_version"] == "2025.2"
    assert _hidden_siblings(target) == []


def test_stale_temporary_siblings_are_removed(target: Path) -> None:
    _write(target)
    stale_build = target.parent / f".{target.name}.tmp-{'0' * 32}"
    stale_old = target.parent / f".{target.name}.old-{'1' * 32}"
    unrelated = target.parent / f".2025-07-01.tmp-{'2' * 32}"
    for folder in (stale_build, stale_old, unrelated):
        folder.mkdir()
        (folder / "conventions.csv").write_text("partiel")
    _write(target)
    assert not stale_build.exists() and not stale_old.exists()
    assert unrelated.exists()  # another target's business


def test_a_file_at_the_target_is_not_replaced(target: Path) -> None:
    target.parent.mkdir(parents=True)
    target.write_text("not a folder")
    with pytest.raises(FileExistsError):
        _write(target)
    assert target.read_text() == "not a folder"
    assert _hidden_siblings(target) == []


def test_large_table_in_constant_memory(target: Path) -> None:
    rows = [(f"C-{i:06d}", i, i / 7, Decimal(i) / 3, date(2025, 1, 1)) for i in range(20_000)]
    table = Table(
        "grand",
        "Grand",
        [("N°", Fmt.TEXT), ("n", Fmt.INT), ("x", Fmt.DEC4), ("€", Fmt.EUR), ("d", Fmt.DATE)],
        rows,
    )
    write_extract(target, workbook_name="grand.xlsx", tables=[table], manifest_extra={})
    assert len(_read_csv(target / "grand.csv")) == 20_001
    sheet = openpyxl.load_workbook(target / "grand.xlsx", read_only=True)["Grand"]
    assert sheet.max_row == 20_001
