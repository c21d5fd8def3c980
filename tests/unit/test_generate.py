"""Tests of the sample data generator (clauses.sample.generate), on the session's sample.

The tests that generate more whole samples (the same seed again, another seed, without defects,
five times the scale) are in tests/integration/test_sample_generation.py."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from support.contract_files import siret_ok
from support.templates import Samples

from clauses.contract.decp import FOLDER as DECP
from clauses.contract.kinds import REGIONS, Kind
from clauses.sample.generate import GenerateSummary, generate_sample

SCALE = 0.05
SEED = 7

# Every variant class of contract §3 (and of the delivery shapes) that must appear at least once.
EXPECTED_VARIANTS = {
    "csv_cp1252",
    "csv_utf8_bom",
    "csv_utf8",
    "csv_sep_semicolon",
    "csv_sep_comma",
    "csv_sep_tab",
    "decimal_comma",
    "decimal_point",
    "thousands_space",
    "thousands_nbsp",
    "thousands_nnbsp",
    "date_dmy",
    "date_iso",
    "month_ym",
    "month_my",
    "month_date_dmy",
    "month_date_iso",
    "month_cell",
    "header_spelling_variants",
    "enum_case_accent_variants",
    "siret_with_spaces",
    "siret_lost_zeros_text",
    "unknown_extra_column",
    "personal_data_columns",
    "upper_case_extension",
    "column_order_shuffled",
    "optional_columns_absent",
    "public_list_comma",
    "header_only_file",
    "xlsx",
    "xlsx_title_rows",
    "xlsx_total_row",
    "xlsx_blank_rows",
    "xlsx_numbers_as_text",
    "xlsx_formula_cells",
    "xlsx_notes_sheet",
    "xlsx_siret_as_number",
    "xlsx_date_cells",
    "xlsx_text_dates",
    "xlsx_several_kinds",
    "xlsx_sheet_canonical_name",
    "xlsx_sheet_name_case_variant",
    "xlsx_sheet_recognised_by_columns",
    "region_wide_export",
    "region_export_several_months",
    "structure_monthly_file",
    "structure_quarterly_file",
    "activity_in_other_region_folder",
    "correction_later_receipt",
    "correction_same_day_name_sorts_last",
    "correction_full_resend",
    "doublon_same_bytes",
    "bilans_structure_file",
    "bilans_region_batch",
    "register_initial",
    "register_avenants_only",
    "register_full_with_avenants",
}

EXPECTED_DEFECTS = {
    "defaut_siret_invalide": "quarantined",
    "defaut_heures_hors_plage": "quarantined",
    "defaut_valeur_inconnue": "quarantined",
    "defaut_lignes_dupliquees": "quarantined",
    "defaut_colonne_manquante": "quarantined",
    "defaut_conventions_cle_dupliquee": "quarantined",
    "defaut_code_region_autre": "quarantined",
    "defaut_pas_un_csv": "refused",
    "defaut_document": "refused",
    "defaut_sans_type": "refused",
    "defaut_fichier_vide": "refused",
}


@pytest.fixture(scope="module")
def sample(samples: Samples) -> tuple[Path, GenerateSummary]:
    return samples.get(SCALE, SEED, defects=True)


def _header_line(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding).splitlines()[0]
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"{path} is neither UTF-8 nor Windows-1252")


def test_refuses_a_non_empty_landing_dir(tmp_path: Path) -> None:
    (tmp_path / "11").mkdir()
    with pytest.raises(FileExistsError):
        generate_sample(tmp_path, scale=SCALE)


def test_layout_regions_and_receipt_dates(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    assert {p.name for p in root.iterdir()} == set(REGIONS) | {DECP}  # DECP: test_sample_decp
    assert summary.regions == 18
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == summary.files
    for p in files:
        rel = p.relative_to(root)
        assert len(rel.parts) == 3, rel  # nothing dropped straight into landing/<region>/
        region, day, name = rel.parts
        if region == DECP:
            continue
        assert region in REGIONS
        assert date(2024, 1, 1) <= date.fromisoformat(day) <= date(2026, 3, 31)
        assert name.lower().endswith((".csv", ".xlsx")) or rel.as_posix() in summary.defects
    for region in REGIONS:  # every region drops its own registers and receives activity
        names = [p.name for p in (root / region).rglob("*")]
        assert any(n.startswith(f"registre_conventions_{region}_2024") for n in names)
        assert any(n.startswith(f"registre_conventions_{region}_2025") for n in names)
        assert len(names) > 5


def test_summary_figures(sample: tuple[Path, GenerateSummary]) -> None:
    _root, summary = sample
    assert set(summary.rows_per_kind) == {k.value for k in Kind}
    assert all(n > 0 for n in summary.rows_per_kind.values())
    assert summary.hours > 0
    assert summary.strands >= 18 * 2  # every region, both millésimes


def test_every_variant_class_is_present(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    assert EXPECTED_VARIANTS <= set(summary.variants), EXPECTED_VARIANTS - set(summary.variants)
    for tag, paths in summary.variants.items():
        assert paths, tag
        assert all((root / rel).is_file() for rel in paths), tag


def test_csv_encodings_and_separators_are_real(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    v = summary.variants
    cp1252 = [root / rel for rel in v["csv_cp1252"]]
    assert any(_not_utf8(p) for p in cp1252)  # real Windows-1252 bytes (accents)
    assert all((root / rel).read_bytes().startswith(b"\xef\xbb\xbf") for rel in v["csv_utf8_bom"])
    assert all("\t" in _header_line(root / rel) for rel in v["csv_sep_tab"])
    assert all("," in _header_line(root / rel) for rel in v["csv_sep_comma"])
    assert any("\u202f" in (root / rel).read_text("utf-8") for rel in v["thousands_nnbsp"])
    assert any(b"\xa0" in (root / rel).read_bytes() for rel in v["thousands_nbsp"])
    assert any(
        re.search(rb"\d \d{3},\d\d", (root / rel).read_bytes()) for rel in v["thousands_space"]
    )
    assert all(Path(rel).suffix in (".CSV", ".XLSX") for rel in v["upper_case_extension"])


def _not_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_header_spelling_and_personal_columns(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    csvs = [
        root / rel
        for rel in summary.variants["header_spelling_variants"]
        if rel.lower().endswith(".csv")
    ]
    headers = " ".join(_header_line(p) for p in csvs)
    assert "siret_porteur" in headers or "SIRET_PORTEUR" in headers or "Siret Porteur " in headers
    personal = summary.variants["personal_data_columns"]
    found = False
    for rel in personal:
        path = root / rel
        if path.suffix.lower() == ".csv":
            line = _header_line(path)
        else:
            wb = openpyxl.load_workbook(path, read_only=True)
            line = " ".join(
                str(c)
                for ws in wb.worksheets
                for row in ws.iter_rows(max_row=12, values_only=True)
                for c in row
                if c is not None
            )
            wb.close()
        found = found or ("Courriel" in line and "Prénom" in line)
    assert found


def test_xlsx_variants_are_real(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    v = summary.variants
    # title rows: the first row of the first data sheet is not a header
    rel = v["xlsx_title_rows"][0]
    wb = openpyxl.load_workbook(root / rel)
    ws = next(ws for ws in wb.worksheets if ws.title != "Notes")
    first = [c for c in next(ws.iter_rows(max_row=1, values_only=True)) if c is not None]
    assert len(first) <= 1
    # total row: the last row of a sheet starts with "Total"
    totals = 0
    for rel in v["xlsx_total_row"]:
        wb = openpyxl.load_workbook(root / rel)
        for ws in wb.worksheets:
            rows = [r for r in ws.iter_rows(values_only=True) if any(c is not None for c in r)]
            if rows and isinstance(rows[-1][0], str) and rows[-1][0].lower().startswith("total"):
                totals += 1
    assert totals
    # SIRETs stored as numbers, some of which lost a leading zero
    lost = False
    for rel in v["xlsx_siret_as_number"]:
        wb = openpyxl.load_workbook(root / rel, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for c in row:
                    if isinstance(c, int) and 10**11 <= c < 10**13:
                        lost = True
        wb.close()
    assert lost
    # several kinds in one workbook, plus a notes sheet somewhere
    wb = openpyxl.load_workbook(root / v["xlsx_several_kinds"][0], read_only=True)
    assert len(wb.sheetnames) >= 2
    assert any(
        "Notes" in openpyxl.load_workbook(root / rel, read_only=True).sheetnames
        for rel in v["xlsx_notes_sheet"]
    )


def test_sirets_are_valid_and_la_poste_present(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    sirets: set[str] = set()
    for p in root.rglob("*"):
        if (
            p.is_file()
            and p.suffix.lower() == ".csv"
            and p.relative_to(root).as_posix() not in summary.defects
            and p.relative_to(root).parts[0] != DECP  # its rows to exclude: test_sample_decp
        ):
            text = p.read_bytes().decode("cp1252", errors="replace")
            sirets.update(re.findall(r"(?<![\d ])(\d{14})(?![\d])", text))
    assert sirets
    assert all(siret_ok(s) for s in sirets)
    assert any(s.startswith("356000000") for s in sirets)


def test_defects(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    by_stem = {Path(rel).stem: outcome for rel, outcome in summary.defects.items()}
    assert by_stem == EXPECTED_DEFECTS
    assert len({Path(rel).parts[0] for rel in summary.defects}) >= 5  # spread over regions
    for rel in summary.defects:
        assert (root / rel).is_file()
    empty = next(rel for rel in summary.defects if "vide" in rel)
    assert (root / empty).stat().st_size == 0
