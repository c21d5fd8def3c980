"""Contract 1.2 SIRETs and the reader's named limits, through `clauses validate` (no warehouse).

A SIRET that lost any count of leading zeros (1 to 13 digits left, a number cell or text) is
padded back to 14 digits before it is checked (contract §3, v1.2). A line, a value or a header
row beyond the reader's limits refuses its file with the limit in the report, and the other
files of the same call are still checked.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from support.contract_files import (
    HEURES,
    heures_row,
    make_siret,
    rezip,
    write_csv,
    write_xlsx,
)

from clauses.cli import main
from clauses.contract.identifiers import normalize_siret, siret_is_valid
from clauses.read.files import open_file
from clauses.read.tables import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_LINE_BYTES, FileRefused


def siret_of_length(digits: int, salt: int = 0) -> str:
    """A valid SIRET whose significant digits are ``digits`` long (14 - digits leading zeros)."""
    zeros = 14 - digits
    siren8 = ("0" * zeros + f"{123456 + salt:06d}{salt % 100:02d}")[:8]
    siret = make_siret(siren8, f"{17 + salt:04d}")
    assert len(str(int(siret))) == digits, siret
    return siret


@pytest.mark.parametrize("digits", range(1, 14))
def test_normalisation_pads_any_count_of_lost_zeros(digits: int) -> None:
    siret = "0" * (14 - digits) + "1" * digits
    values = pd.Series([siret.lstrip("0"), f"{int(siret)}.0", float(int(siret))])
    assert normalize_siret(values).tolist() == [siret] * 3


@pytest.mark.parametrize("digits", range(9, 14))
@pytest.mark.parametrize("form", ["csv text", "xlsx number", "xlsx text"])
def test_sirets_that_lost_leading_zeros_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], digits: int, form: str
) -> None:
    porteur, employeur = siret_of_length(digits), siret_of_length(digits, salt=7)
    assert siret_is_valid(normalize_siret(pd.Series([porteur]))).all()
    rows = [
        heures_row(i, **{"SIRET porteur": porteur, "SIRET employeur": employeur}) for i in range(3)
    ]
    if form == "csv text":
        for row in rows:
            for column in ("SIRET porteur", "SIRET employeur"):
                row[HEURES.index(column)] = row[HEURES.index(column)].lstrip("0")
        path = write_csv(tmp_path / "heures.csv", HEURES, rows)
    else:
        cells: list[list[object]] = [list(row) for row in rows]
        for row in cells:
            for column in ("SIRET porteur", "SIRET employeur"):
                text = str(row[HEURES.index(column)]).lstrip("0")
                row[HEURES.index(column)] = int(text) if form == "xlsx number" else text
        path = write_xlsx(tmp_path / "heures.xlsx", {"Heures": [HEURES, *cells]})
    assert main(["validate", str(path)]) == 0, capsys.readouterr().out
    assert "lignes lues : 3" in capsys.readouterr().out


def test_a_siret_of_the_wrong_key_stays_invalid_once_padded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = siret_of_length(11)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    rows = [heures_row(0, **{"SIRET porteur": bad.lstrip("0")})]
    assert main(["validate", str(write_csv(tmp_path / "h.csv", HEURES, rows))]) == 1
    assert "SIRET porteur" in capsys.readouterr().out


def refusal(path: Path) -> str:
    with pytest.raises(FileRefused) as refused:
        for table in open_file(path).tables:
            for _ in table.batches():
                pass
    return refused.value.reason


def test_a_single_line_beyond_the_limit_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "une ligne.csv"
    path.write_bytes(b"Heures;" * (3 * MAX_LINE_BYTES // 7))  # no line break at all
    assert "la ligne 1 fait plus de 1\u202f048\u202f576 octets" in refusal(path)


@pytest.mark.parametrize("size", [MAX_LINE_BYTES + 10, 20 << 20])
def test_a_long_data_line_is_refused_naming_its_line(tmp_path: Path, size: int) -> None:
    rows = [heures_row(0), heures_row(1, **{"Code opération": "x" * 30_000}), heures_row(2)]
    head = write_csv(tmp_path / "h.csv", HEURES, rows).read_bytes()
    long_row = ";".join(heures_row(3)).encode() + b";" + b"y" * size + b"\r\n"
    path = tmp_path / "long.csv"
    path.write_bytes(head + long_row + ";".join(heures_row(4)).encode() + b"\r\n")
    assert "la ligne 5 fait plus de" in refusal(path)


@pytest.mark.parametrize("quoted", [False, True])
def test_a_value_beyond_a_cell_is_refused_naming_line_and_column(
    tmp_path: Path, quoted: bool
) -> None:
    value = "a\nb" * (MAX_FIELD_CHARS // 3 + 1) if quoted else "z" * (MAX_FIELD_CHARS + 1)
    rows = [heures_row(0), heures_row(1, **{"N° marché": value})]
    reason = refusal(write_csv(tmp_path / "h.csv", HEURES, rows))
    assert "fait plus de 32\u202f767 caractères" in reason
    assert "ligne 3, colonne « N° marché »" in reason


def test_a_value_of_exactly_a_cell_is_read(tmp_path: Path) -> None:
    rows = [heures_row(0, **{"N° marché": "é" * MAX_FIELD_CHARS})]
    [table] = open_file(write_csv(tmp_path / "h.csv", HEURES, rows)).tables
    assert sum(len(batch) for batch in table.batches()) == 1


def test_a_header_beyond_a_cell_or_the_csv_module_limit_is_refused(tmp_path: Path) -> None:
    for size in (MAX_FIELD_CHARS + 1, 200_000):
        path = write_csv(tmp_path / "h.csv", [*HEURES, "c" * size], [heures_row(0)])
        assert "une valeur (ligne 1) fait plus de 32\u202f767 caractères" in refusal(path)


def test_a_header_row_beyond_a_sheet_is_refused(tmp_path: Path) -> None:
    extra = [f"c{i}" for i in range(MAX_COLUMNS)]
    path = write_csv(tmp_path / "h.csv", [*HEURES, *extra], [heures_row(0)])
    assert f"compte {len(HEURES) + MAX_COLUMNS:,} colonnes".replace(",", "\u202f") in refusal(path)


def test_an_xlsx_cell_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    # Spreadsheet tools cut a cell at the limit when they write it: the sheet's XML is edited.
    cell = "o" * MAX_FIELD_CHARS
    rows = [HEURES, heures_row(0), heures_row(1, **{"Code opération": cell}), heures_row(2)]
    written = write_xlsx(tmp_path / "written.xlsx", {"Heures": rows})
    data = written.read_bytes()
    parts = zipfile.ZipFile(written)
    longer = {
        name: parts.read(name).replace(cell.encode(), cell.encode() + b"oooo")
        for name in parts.namelist()
        if cell.encode() in parts.read(name)
    }
    assert longer  # the cell is in some part of the workbook
    (tmp_path / "h.xlsx").write_bytes(rezip(data, replace=longer))
    assert "ligne 3, colonne « Code opération »" in refusal(tmp_path / "h.xlsx")
    [table] = open_file(written).tables  # the cell at the limit is read
    assert sum(len(batch) for batch in table.batches()) == 3


def test_validate_reports_every_file_when_one_is_beyond_a_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    giant = tmp_path / "géant.csv"
    giant.write_bytes(b"x" * (20 << 20))
    good = write_csv(tmp_path / "bon.csv", HEURES, [heures_row(0), heures_row(1)])
    assert main(["validate", str(giant), str(good)]) == 1
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert "« géant.csv »" in out and "fait plus de 1\u202f048\u202f576 octets" in out
    assert "« bon.csv »" in out and "DÉCISION : fichier chargé." in out
