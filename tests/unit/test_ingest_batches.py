"""Files read by batches (issue #3): a file split over many batches reads, validates and loads
exactly as when it is read whole, row numbers, duplicates, repeated keys and reports included."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from support.contract_files import HEURES, SIRET_A, heures_row, write_csv

from clauses.check.examine import examine, examine_group, examine_stream, file_report
from clauses.contract.kinds import KINDS, Kind
from clauses.read import csv_files, sheet_slices, workbooks
from clauses.read.files import open_file, read_file
from clauses.receive.landing import LandingEntry

KEY = b"batch-test-key"
CONVENTIONS = [c.header for c in KINDS[Kind.CONVENTIONS].columns]


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    whole = read_file(path)
    with monkeypatch.context() as patch:
        patch.setattr(csv_files, "CSV_BLOCK_BYTES", 700)
        patch.setattr(csv_files, "CAREFUL_ROWS", 7)
        patch.setattr(workbooks, "XLSX_WHOLE_SHEET_BYTES", 0)
        patch.setattr(sheet_slices, "XLSX_SLICE_BYTES", 1500)
        patch.setattr(sheet_slices, "XLSX_SLICE_CELLS", 300)
        assert not open_file(path).whole  # really read by slices
        sliced = read_file(path)
    return whole, sliced


def assert_same(whole, sliced) -> None:  # type: ignore[no-untyped-def]
    assert (whole.ignored_sheets, whole.encoding, whole.separator) == (
        sliced.ignored_sheets,
        sliced.encoding,
        sliced.separator,
    )
    assert len(whole.tables) == len(sliced.tables)
    for a, b in zip(whole.tables, sliced.tables, strict=True):
        assert (a.kind, a.sheet, a.missing_columns, a.personal_columns, a.unknown_columns) == (
            b.kind,
            b.sheet,
            b.missing_columns,
            b.personal_columns,
            b.unknown_columns,
        )
        pd.testing.assert_frame_equal(a.frame, b.frame)


# ---- Reading by slices ----------------------------------------------------------------------


def _csv_text(rows: list[list[str]], separator: str = ";", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator=newline).writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "variant",
    ["plain", "cp1252_comma", "quoted_newlines", "blank_lines", "ragged", "stray_quote", "bare_cr"],
)
def test_csv_read_by_slices_equals_the_whole_read(
    variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = ["Nom", *HEURES, "Commentaire"]
    rows = [["Dupont", *heures_row(i), f"note {i}"] for i in range(120)]
    separator, encoding, newline = ";", "utf-8", "\r\n"
    if variant == "cp1252_comma":
        separator, encoding = ",", "cp1252"
    if variant == "quoted_newlines":
        for i in range(0, 120, 9):
            rows[i][-1] = f'ligne 1 ; {i}\r\nligne 2 "citée"\nfin'
    if variant == "bare_cr":
        newline = "\r"
    text = _csv_text([headers, *rows], separator, newline)
    if variant == "blank_lines":
        lines = text.split("\r\n")
        for i in range(100, 5, -13):
            lines.insert(i, "" if i % 2 else ";;;  ;")
        text = "\r\n".join(lines) + "\r\n\r\n"
    if variant == "ragged":
        lines = text.split("\r\n")
        lines[40] += ";surplus"
        lines[77] = lines[77].rsplit(";", 3)[0]
        text = "\r\n".join(lines)
    if variant == "stray_quote":  # a quote inside a value: the careful reader takes over
        lines = text.split("\r\n")
        lines[60] = lines[60].replace("note 59", 'tube 12" acier')
        text = "\r\n".join(lines)
    path = tmp_path / "heures.csv"
    path.write_bytes(text.encode(encoding))
    whole, sliced = read_both(path, monkeypatch)
    assert_same(whole, sliced)
    frame = whole.tables[0].frame  # type: ignore[attr-defined]
    assert len(frame) == 120 and frame["_row"].is_monotonic_increasing
    if variant in ("plain", "cp1252_comma", "bare_cr"):
        assert frame["_row"].tolist() == list(range(2, 122))
    assert whole.tables[0].personal_columns == ["Nom"]  # type: ignore[attr-defined]


def _workbook(path: Path) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    dates = workbook.add_format({"num_format": "dd/mm/yyyy"})
    bold = workbook.add_format({"bold": True})
    heures = workbook.add_worksheet("Export")
    heures.write_row(0, 0, ["Export de l'activité"])
    heures.write_row(2, 0, ["Nom", *HEURES, "Remarque", ""])
    row = 3
    for i in range(150):
        values: list[object] = ["Durand", *heures_row(i)]
        values[1] = int(values[1])  # type: ignore[arg-type]
        values[2] = dt.datetime(2024, 1 + i % 12, 1)
        values[13] = float(i % 150) + 0.5
        for column, value in enumerate(values):
            if isinstance(value, dt.datetime):
                heures.write_datetime(row, column, value, dates)
            elif column == 11 and i % 5 == 0:
                heures.write_rich_string(row, column, bold, "DELD", "|BRSA")
            else:
                heures.write(row, column, value)
        if i == 70:
            heures.write(row, 18, "valeur sans en-tête")
        row += 2 if i % 10 == 0 else 1  # blank rows now and then
    heures.write_row(row + 1, 0, ["TOTAL", None, None])
    heures.write_formula(row + 1, 13, "=SUM(N4:N200)", None, 1234.5)
    notes = workbook.add_worksheet("Notes")
    notes.write(0, 0, "Lisez-moi")
    conventions = workbook.add_worksheet("conventions")
    conventions.write_row(0, 0, CONVENTIONS)
    conventions.write_row(1, 0, ["C-1", 2024, 11, SIRET_A, "Structure A", "7210"])
    conventions.write(1, 8, dt.date(2024, 1, 1), dates)
    conventions.write_string(1, 9, "31/12/2024")
    workbook.close()
    return path


def test_xlsx_read_by_slices_equals_the_whole_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, sliced = read_both(_workbook(tmp_path / "classeur.xlsx"), monkeypatch)
    assert_same(whole, sliced)
    heures = whole.tables[0]  # type: ignore[attr-defined]
    assert len(heures.frame) == 150 and heures.frame["_row"].iloc[0] == 4
    assert heures.unknown_columns == ["Remarque", "(colonne n° 19 sans en-tête)"]
    assert heures.frame["public_prioritaire"].iloc[0] == "DELD|BRSA"  # rich text, runs joined
    assert whole.ignored_sheets == ["Notes"]  # type: ignore[attr-defined]


def test_xlsx_sparse_sheet_is_sliced_around_its_gaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value a million rows below the data: calamine's grid would be rows x columns cells;
    the slices are cut so that it never is."""
    path = tmp_path / "creux.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Heures")
    sheet.write_row(0, 0, HEURES)
    for i in range(5):
        sheet.write_row(1 + i, 0, heures_row(i))
    sheet.write(1_000_000, 0, "Total général")
    sheet.write(1_000_000, 40, 12)
    workbook.close()
    monkeypatch.setattr(sheet_slices, "XLSX_SLICE_CELLS", 10_000)
    opened = open_file(path)
    assert not opened.whole  # its extent is too large to hand to calamine at once
    table = read_file(path).tables[0]
    assert table.frame["_row"].tolist() == [2, 3, 4, 5, 6]


# ---- Checks that span batches ---------------------------------------------------------------


def _entry(path: Path, region: str = "11") -> LandingEntry:
    return LandingEntry(region, date(2024, 6, 1), path.name, path)


def _streamed_and_whole(path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int):  # type: ignore[no-untyped-def]
    whole = examine(_entry(path), "sha", open_file(path))
    examine_group([whole], pseudonym_key=KEY)
    with monkeypatch.context() as patch:
        patch.setattr(csv_files, "CSV_BLOCK_BYTES", 700)
        streamed = examine(_entry(path), "sha", open_file(path))
        assert not streamed.opened.whole
        kind = streamed.tables[0].reader.kind
        examine_stream(
            streamed, pseudonym_key=KEY, batch_cells=batch_rows * len(KINDS[kind].columns)
        )
    return whole, streamed


def _failures(item) -> list[tuple[str, str, int, list[dict[str, object]]]]:  # type: ignore[no-untyped-def]
    return [(c.check, c.column, c.unexpected_count, c.examples) for c in file_report(item).failures]


def test_duplicates_across_batch_boundaries_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [heures_row(i) for i in range(200)]
    rows[150] = heures_row(3, **{"ID participant": " P-00003 ", "Sexe": "h"})  # = row 3
    rows[199] = heures_row(180)  # = row 180, in the same last batch
    rows[120] = heures_row(119, **{"Heures réalisées": "abc"})
    rows[121] = heures_row(119, **{"Heures réalisées": "abc"})  # the invalid text compared
    path = write_csv(tmp_path / "doublons.csv", HEURES, rows)
    whole, streamed = _streamed_and_whole(path, monkeypatch, batch_rows=70)
    assert _failures(streamed) == _failures(whole)
    duplicate = next(c for c in whole.checks if c.column == "" and not c.success)
    assert duplicate.unexpected_count == 3
    assert [e["ligne"] for e in duplicate.examples] == [123, 152, 201]
    assert sum(t.rows for t in streamed.tables) == 200


def test_unique_keys_across_batches_are_counted_as_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def convention(i: int, number: str) -> list[str]:
        row = dict.fromkeys(CONVENTIONS, "")
        row |= {
            "N° convention": number,
            "Millésime": "2024",
            "Code région": "11",
            "SIRET porteur": SIRET_A,
            "Raison sociale": f"Structure {i}",
            "Catégorie juridique": "7210",
            "Volet": "facilitateur",
            "ETP conventionnés": "1",
            "Date de début": "01/01/2024",
            "Date de fin": "31/12/2024",
            "Coût total": "1000",
            "Subvention État": "500",
            "Cofinancements": "500",
            "Avance versée": "100",
            "N° avenant": str(i % 2),
        }
        return [row[h] for h in CONVENTIONS]

    rows = [convention(i, f"C-{i}") for i in range(90)]
    rows[80] = convention(0, "C-0")  # the key of row 0 (line 2), 80 rows later
    rows[81] = convention(81, "C-81 ")  # and a different row with its own key
    path = write_csv(tmp_path / "registre.csv", CONVENTIONS, rows)
    whole, streamed = _streamed_and_whole(path, monkeypatch, batch_rows=35)
    assert _failures(streamed) == _failures(whole)
    unique = next(c for c in streamed.checks if c.check == "expect_compound_columns_to_be_unique")
    assert unique.unexpected_count == 2
    assert [e["ligne"] for e in unique.examples] == [2, 82]


def test_report_of_a_file_read_by_batches_adds_them_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    random.seed(4)
    rows = [heures_row(i) for i in range(300)]
    bad = sorted(random.sample(range(300), 45))
    for i in bad:
        rows[i] = heures_row(i, **{"SIRET employeur": "12345678901234"})
    rows[250] = heures_row(250, **{"Heures réalisées": "300"})  # a warning
    path = write_csv(tmp_path / "erreurs.csv", HEURES, rows)
    whole, streamed = _streamed_and_whole(path, monkeypatch, batch_rows=110)
    assert _failures(streamed) == _failures(whole)
    siret = next(c for c in streamed.checks if c.column == "SIRET employeur" and not c.success)
    assert siret.unexpected_count == 45
    assert [e["ligne"] for e in siret.examples] == [i + 2 for i in bad[:20]]
    assert {c.element_count for c in streamed.checks} == {300}
