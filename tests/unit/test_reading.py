"""Reading CSV and XLSX files (contract §2-3): every messy form reads like its clean twin."""

from __future__ import annotations

import datetime as dt
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from support.contract_files import SIRET_A, SIRET_B, SIRET_C, SIRET_D, write_csv, write_xlsx

from clauses.check.examine import examine
from clauses.check.normalize import normalize
from clauses.contract.kinds import KINDS, Kind
from clauses.read.files import open_file, read_file
from clauses.read.sheets import cell_text
from clauses.read.tables import (
    FileRefused,
    ReadResult,
    SheetTable,
    TextBatch,
    concat_batches,
    detect_kind,
    is_personal_header,
)
from clauses.receive.landing import LandingEntry

KEY = b"test-key"

HEURES_HEADERS = [c.header for c in KINDS[Kind.HEURES].columns]
HEURES_CLEAN = [
    [
        SIRET_A,
        "2024-03",
        "OP-1",
        "M-2024-01",
        "1",
        SIRET_C,
        "Collectivité territoriale",
        SIRET_B,
        "ETTI",
        "P-001",
        "DELD|BRSA",
        "Intérim",
        "151.5",
        "12",
        "F",
        "1985",
    ],
    [
        SIRET_A,
        "2024-03",
        "OP-1",
        "M-2024-01",
        "",
        SIRET_C,
        "État",
        SIRET_D,
        "Entreprise",
        "P-002",
        "",
        "CDI",
        "1234.5",
        "",
        "",
        "",
    ],
    [
        SIRET_A,
        "2024-04",
        "OP-2",
        "M-2024-02",
        "2",
        SIRET_C,
        "Bailleur social",
        SIRET_B,
        "GEIQ",
        "P-003",
        "Jeune -26 ans",
        "Contrat d'insertion SIAE",
        "7",
        "0",
        "H",
        "2001",
    ],
]
HEURES_MESSY_HEADERS = [
    "siret_porteur",
    "MOIS ",
    "Code operation",
    "n° Marché",
    "N°lot",
    "Siret donneur d'ordre",
    "type de donneur d\u2019ordre",
    "SIRET-employeur",
    "Type d'employeur",
    "ID participant",
    "Public prioritaire",
    "modalite",
    "Heures réalisées",
    "Heures de formation",
    "Sexe",
    "Année de naissance",
]


def heures_messy(thousands: str) -> list[list[str]]:
    return [
        [
            "732 829 320 00074",
            "03/2024",
            " OP-1 ",
            "M-2024-01",
            "1",
            SIRET_C[1:],
            "collectivite territoriale",
            SIRET_B[2:],
            "etti",
            "P-001",
            "brsa, deld",
            "Interim",
            "151,5",
            "12",
            "f",
            "1985",
        ],
        [
            SIRET_A,
            "01/03/2024",
            "OP-1",
            "M-2024-01",
            "",
            SIRET_C,
            "ETAT",
            "\u00a0".join([SIRET_D[:3], SIRET_D[3:6], SIRET_D[6:9], SIRET_D[9:]]),
            "entreprise",
            "P-002",
            "",
            "cdi",
            f"1{thousands}234,5",
            "",
            "",
            "",
        ],
        [
            SIRET_A,
            "2024-04-30",
            "OP-2",
            "M-2024-02",
            "2",
            f"{SIRET_C}.0",
            " bailleur social ",
            SIRET_B,
            "GEIQ",
            "P-003",
            "jeune -26 ans",
            "Contrat d\u2019insertion SIAE",
            "7,0",
            "0",
            "h",
            "2001.0",
        ],
    ]


MARCHES_HEADERS = [c.header for c in KINDS[Kind.MARCHES].columns]
MARCHES_CLEAN = [
    [
        SIRET_A,
        "2024-03",
        SIRET_C,
        "Collectivité territoriale",
        "M-2024-01",
        "1",
        "Rénovation école",
        "Travaux",
        "Condition d'exécution",
        "123456.78",
        "350",
        "2024-01-15",
        "NPNRU",
    ],
    [
        SIRET_A,
        "2024-03",
        SIRET_B,
        "Bailleur social",
        "M-2024-07",
        "",
        "Nettoyage",
        "Services",
        "Marché réservé SIAE",
        "9800",
        "1200.5",
        "",
        "",
    ],
]


def typed(result: ReadResult | SheetTable, kind: Kind | None = None) -> pd.DataFrame:
    """The normalised typed values (no row numbers, no raw texts) of one table."""
    if isinstance(result, ReadResult):
        tables = [t for t in result.tables if kind is None or t.kind == kind]
        assert len(tables) == 1
        table = tables[0]
    else:
        table = result
    frame = normalize(table, pseudonym_key=KEY)
    columns = [c.name for c in KINDS[table.kind].columns] + ["_duplicate"]
    errors = [c.name + "__err" for c in KINDS[table.kind].columns]
    assert frame[errors].isna().all().all(), frame[errors].dropna(how="all", axis=0)
    return frame[columns]


@pytest.fixture
def clean_heures(tmp_path: Path) -> pd.DataFrame:
    path = write_csv(tmp_path / "clean.csv", HEURES_HEADERS, HEURES_CLEAN)
    result = read_file(path)
    assert result.encoding == "utf-8" and result.separator == ";"
    assert result.tables[0].frame["_row"].tolist() == [2, 3, 4]
    return typed(result)


# ---- CSV ------------------------------------------------------------------------------------


def test_csv_cp1252_semicolon_decimal_comma(tmp_path: Path, clean_heures: pd.DataFrame) -> None:
    path = write_csv(
        tmp_path / "Export.CSV", HEURES_MESSY_HEADERS, heures_messy("\u00a0"), encoding="cp1252"
    )
    result = read_file(path)
    assert (result.encoding, result.separator) == ("cp1252", ";")
    table = result.tables[0]
    assert table.kind is Kind.HEURES and table.sheet is None
    assert table.missing_columns == [] and table.unknown_columns == []
    pd.testing.assert_frame_equal(typed(result), clean_heures)


def test_csv_utf8_bom_comma(tmp_path: Path, clean_heures: pd.DataFrame) -> None:
    path = write_csv(
        tmp_path / "f.csv",
        HEURES_MESSY_HEADERS,
        heures_messy(" "),
        separator=",",
        encoding="utf-8-sig",
        newline="\n",
    )
    result = read_file(path)
    assert (result.encoding, result.separator) == ("utf-8-sig", ",")
    pd.testing.assert_frame_equal(typed(result), clean_heures)


def test_csv_utf8_tab_narrow_nbsp(tmp_path: Path, clean_heures: pd.DataFrame) -> None:
    path = write_csv(
        tmp_path / "f.csv", HEURES_MESSY_HEADERS, heures_messy("\u202f"), separator="\t"
    )
    result = read_file(path)
    assert (result.encoding, result.separator) == ("utf-8", "\t")
    pd.testing.assert_frame_equal(typed(result), clean_heures)


def test_csv_values_are_stripped_text_or_none(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", HEURES_MESSY_HEADERS, heures_messy(" "))
    frame = read_file(path).tables[0].frame
    assert frame["_row"].dtype == "int64"
    for name in frame.columns.drop("_row"):
        assert frame[name].dtype == object
        for value in frame[name]:
            assert value is None or (isinstance(value, str) and value == value.strip() and value)
    assert frame["code_operation"].tolist() == ["OP-1", "OP-1", "OP-2"]
    assert frame["num_lot"].tolist() == ["1", None, "2"]


def test_csv_line_numbers_with_blank_lines_quoted_newlines_and_ragged_rows(
    tmp_path: Path,
) -> None:
    header = ";".join(MARCHES_HEADERS)
    row1 = ";".join(MARCHES_CLEAN[0])
    row2 = ";".join(MARCHES_CLEAN[1]).replace("Nettoyage", '"Nettoyage\nlocaux; bureaux"')
    text = "\r\n".join([header, row1, "", ";;;", row2 + ";;", row1[: row1.index(";Rénovation")]])
    path = tmp_path / "m.csv"
    path.write_bytes((text + "\r\n\r\n").encode("utf-8"))
    table = read_file(path).tables[0]
    assert table.kind is Kind.MARCHES
    # blank line 3 and separator-only line 4 are dropped; the quoted value spans lines 5-6.
    assert table.frame["_row"].tolist() == [2, 5, 7]
    assert table.frame["objet"].tolist() == ["Rénovation école", "Nettoyage\nlocaux; bureaux", None]
    assert table.unknown_columns == []  # the extra trailing separators hold nothing


def test_csv_header_variants_unknown_missing_and_duplicate_columns(tmp_path: Path) -> None:
    headers = ["Siret Porteur ", "mois", "Date", "SIRET acheteur", "Commentaire", "Mois", "", ""]
    rows = [[SIRET_A, "2024-03", "05/03/2024", SIRET_B, "note", "2024-04", "", "x"]]
    result = read_file(write_csv(tmp_path / "c.csv", headers, rows))
    table = result.tables[0]
    assert table.kind is Kind.CONTACTS
    assert table.missing_columns == ["Type de donneur d'ordre"]  # Objet is optional
    assert table.unknown_columns == [
        "Commentaire",
        "Mois (en double)",
        "(colonne n° 8 sans en-tête)",
    ]
    assert table.frame["mois"].tolist() == ["2024-03"]
    assert list(table.frame.columns) == [
        "_row",
        "siret_porteur",
        "mois",
        "date_contact",
        "siret_acheteur",
    ]


def test_csv_separator_inside_quoted_header(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        '"Objet, détaillé";SIRET porteur;Mois;Date;Partenaire;Type de partenaire\n'
        f'"a, b";{SIRET_A};2024-03;2024-03-05;Pôle emploi;Service public de l\'emploi\n',
        encoding="utf-8",
    )
    result = read_file(path)
    assert result.separator == ";"
    table = result.tables[0]
    assert table.kind is Kind.PARTENARIATS
    assert table.unknown_columns == ["Objet, détaillé"]


def test_csv_header_only_is_a_table_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(";".join(HEURES_HEADERS) + "\n", encoding="utf-8")
    table = read_file(path).tables[0]
    assert table.kind is Kind.HEURES and len(table.frame) == 0
    assert len(normalize(table, pseudonym_key=KEY)) == 0


# ---- XLSX -----------------------------------------------------------------------------------


def _messy_workbook(path: Path) -> Path:
    heures = [
        ["Export ABC Clauses - activité"],
        ["Structure : PLIE de l'Exemple", None, None, "Édité le", dt.date(2024, 5, 2)],
        [],
        ["Nom", *HEURES_MESSY_HEADERS, "Remarque"],
        [
            "Martin",
            int(SIRET_A),
            dt.date(2024, 3, 1),
            "OP-1",
            "M-2024-01",
            1,
            int(SIRET_C),
            "Collectivité territoriale",
            int(SIRET_B),
            "ETTI",
            "P-001",
            "DELD|BRSA",
            "Intérim",
            "151,5",
            12,
            "F",
            1985,
            "ok",
        ],
        [],
        [
            None,
            SIRET_A,
            "2024-03",
            "OP-1",
            "M-2024-01",
            None,
            SIRET_C,
            "État",
            SIRET_D,
            "Entreprise",
            "P-002",
            None,
            "CDI",
            1234.5,
            None,
            None,
            None,
        ],
        [
            None,
            float(SIRET_A),
            dt.datetime(2024, 4, 12, 9, 30),
            "OP-2",
            "M-2024-02",
            "2",
            SIRET_C,
            "Bailleur social",
            SIRET_B,
            "GEIQ",
            "P-003",
            "Jeune -26 ans",
            "Contrat d'insertion SIAE",
            7.0,
            "0",
            "H",
            "2001",
        ],
        [],
        [
            "TOTAL général",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            1393,
            12,
        ],
    ]
    marches = [
        ["Marchés accompagnés"],
        MARCHES_HEADERS,
        [
            int(SIRET_A),
            dt.date(2024, 3, 1),
            SIRET_C,
            "collectivité territoriale",
            "M-2024-01",
            1,
            "Rénovation école",
            "travaux",
            "condition d'execution",
            123456.78,
            "350",
            dt.date(2024, 1, 15),
            "npnru",
        ],
        [
            SIRET_A,
            "03/2024",
            SIRET_B,
            "Bailleur social",
            "M-2024-07",
            None,
            "Nettoyage",
            "Services",
            "Marché réservé SIAE",
            "9 800,00",
            1200.5,
            None,
            None,
        ],
        ["Total", None, None, None, None, None, None, None, None, 133256.78],
    ]
    notes = [["Notes"], ["Ce classeur est un export mensuel."]]
    return write_xlsx(path, {"Activité": heures, "Notes": notes, "Marchés": marches})


def test_xlsx_reads_like_the_clean_csv(tmp_path: Path, clean_heures: pd.DataFrame) -> None:
    result = read_file(_messy_workbook(tmp_path / "classeur.XLSX"))
    assert (result.encoding, result.separator) == (None, None)
    assert [(t.kind, t.sheet) for t in result.tables] == [
        (Kind.HEURES, "Activité"),
        (Kind.MARCHES, "Marchés"),
    ]
    assert result.ignored_sheets == ["Notes"]
    heures, marches = result.tables
    assert heures.frame["_row"].tolist() == [5, 7, 8]  # title, blank and Total rows skipped
    assert marches.frame["_row"].tolist() == [3, 4]
    assert heures.personal_columns == ["Nom"]
    assert heures.unknown_columns == ["Remarque"]
    # SIRET stored as a number, numbers stored as text, real date cells:
    assert heures.frame["siret_employeur"].iloc[0] == SIRET_B[2:]
    assert heures.frame["mois"].tolist() == ["2024-03-01", "2024-03", "2024-04-12"]
    assert heures.frame["annee_naissance"].tolist() == ["1985", None, "2001"]
    assert heures.frame["heures_realisees"].tolist() == ["151,5", "1234.5", "7"]

    pd.testing.assert_frame_equal(typed(result, Kind.HEURES), clean_heures)
    clean_marches = typed(read_file(write_csv(tmp_path / "m.csv", MARCHES_HEADERS, MARCHES_CLEAN)))
    pd.testing.assert_frame_equal(typed(result, Kind.MARCHES), clean_marches)
    assert typed(result, Kind.MARCHES)["montant_ht_cents"].tolist() == [12345678, 980000]


def test_xlsx_sheet_name_fixes_the_kind(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "w.xlsx",
        {
            " heures ": [["SIRET porteur", "Mois"], [SIRET_A, "2024-03"]],
            "MARCHES": [["Type de partenaire", "SIRET porteur"], ["SIAE", SIRET_A]],
            "vide": [],
        },
    )
    result = read_file(path)
    assert [(t.kind, t.sheet) for t in result.tables] == [
        (Kind.HEURES, " heures "),
        (Kind.MARCHES, "MARCHES"),
    ]
    assert result.ignored_sheets == ["vide"]
    assert "ID participant" in result.tables[0].missing_columns
    assert result.tables[1].unknown_columns == ["Type de partenaire"]


def test_xlsx_formula_cells_count_as_their_cached_value(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Conventions")
    headers = [c.header for c in KINDS[Kind.CONVENTIONS].columns]
    sheet.write_row(0, 0, headers)
    sheet.write_string(1, headers.index("N° convention"), "C-1")
    sheet.write_number(1, headers.index("Coût total"), 50000)
    sheet.write_formula(1, headers.index("Subvention État"), "=0.7*L2", None, 35000)
    sheet.write_formula(1, headers.index("Cofinancements"), "=L2-M2", None, 15000.5)
    workbook.close()
    frame = read_file(path).tables[0].frame
    assert frame.loc[0, "subvention_etat_cents"] == "35000"
    assert frame.loc[0, "cofinancements_cents"] == "15000.5"


def test_cell_text() -> None:
    assert cell_text(12345678901234.0) == "12345678901234"
    assert cell_text(123456789012) == "123456789012"
    assert cell_text(1234.5) == "1234.5"
    assert cell_text(0.1 + 0.2) == repr(0.1 + 0.2)
    assert cell_text(1e-05) == "0.00001"
    assert cell_text(-3.0) == "-3"
    assert cell_text(dt.date(2024, 3, 5)) == "2024-03-05"
    assert cell_text(dt.datetime(2024, 3, 5, 23, 59)) == "2024-03-05"
    assert cell_text(dt.timedelta(hours=7, minutes=30)) == "7.5"
    assert cell_text(True) == "VRAI" and cell_text(False) == "FAUX"
    assert cell_text("") == "" and cell_text(None) is None


# ---- Kinds and personal data ----------------------------------------------------------------


def test_detect_kind() -> None:
    assert detect_kind(["ID participant"]) is None  # Heures needs both signature columns
    assert detect_kind(["id_participant", "HEURES REALISEES"]) is Kind.HEURES
    assert detect_kind(["ID participant", "Heures réalisées", "Type de clause"]) is Kind.HEURES
    assert detect_kind(["Type de clause", "SIRET acheteur", "Date"]) is Kind.CONTACTS
    assert (
        detect_kind(["Type de clause", "SIRET acheteur", "Nature", "Objet", "Montant HT"])
        is Kind.MARCHES
    )
    assert detect_kind(["Type de bilan"]) is Kind.BILANS
    assert detect_kind(["ETP conventionnés"]) is Kind.CONVENTIONS
    assert detect_kind(["Type de partenaire"]) is Kind.PARTENARIATS
    assert detect_kind(["Nom", "Heures"]) is None


@pytest.mark.parametrize(
    "header",
    [
        "Nom",
        "NOM ",
        "Prénom",
        "prenoms",
        "Nom de naissance",
        "Nom d'usage",
        "nom_du_salarie",
        "Date de naissance",
        "Date naissance",
        "NIR",
        "Tél portable",
        "Mail perso",
        "N° de sécurité sociale",
        "Numéro de sécurité sociale",
        "Adresse",
        "Adresse postale",
        "Téléphone",
        "Tél.",
        "Portable",
        "Courriel",
        "E-mail",
        "Email",
        "e_mail_pro",
        "Mail",
    ],
)
def test_personal_headers(header: str) -> None:
    assert is_personal_header(header)


@pytest.mark.parametrize(
    "header",
    [
        "Année de naissance",
        "ID participant",
        "Nature",
        "Objet",
        "Nombre d'heures",
        "Type de donneur d'ordre",
    ],
)
def test_not_personal_headers(header: str) -> None:
    assert not is_personal_header(header)


PERSONAL = {
    "Nom": "DUPONTSECRET",
    "Prénom": "JEANSECRET",
    "Date de naissance": "01/02/1990",
    "NIR": "190027512345678",
    "Adresse postale": "12 rue Secrète",
    "Téléphone": "0601020304",
    "Courriel": "jean@secret.example",
    "E-mail pro": "pro@secret.example",
}


def _assert_no_personal_value(*objects: object) -> None:
    for obj in objects:
        if isinstance(obj, pd.DataFrame):
            text = obj.to_csv()
        else:
            text = repr(obj)
        for value in PERSONAL.values():
            assert value not in text


@pytest.mark.parametrize("ragged", [False, True])
def test_personal_columns_dropped_from_csv(tmp_path: Path, ragged: bool) -> None:
    headers = [*PERSONAL, *HEURES_HEADERS]
    rows = [[*PERSONAL.values(), *row] for row in HEURES_CLEAN]
    if ragged:  # a longer row sends the file down the careful path
        rows[1] = [*rows[1], "", "surplus"]
    result = read_file(write_csv(tmp_path / "p.csv", headers, rows))
    table = result.tables[0]
    assert table.personal_columns == list(PERSONAL)
    assert all(not c.startswith(tuple(PERSONAL)) for c in table.frame.columns)
    _assert_no_personal_value(result, table.frame, normalize(table, pseudonym_key=KEY))
    if ragged:
        assert table.unknown_columns == ["(colonne n° 26 sans en-tête)"]


def test_personal_columns_dropped_from_xlsx(tmp_path: Path) -> None:
    rows = [
        ["Titre"],
        [*PERSONAL, *HEURES_HEADERS],
        *([*PERSONAL.values(), *row] for row in HEURES_CLEAN),
    ]
    result = read_file(write_xlsx(tmp_path / "p.xlsx", {"Feuil1": rows}))
    table = result.tables[0]
    assert table.personal_columns == list(PERSONAL)
    _assert_no_personal_value(result, table.frame, normalize(table, pseudonym_key=KEY))


# ---- Refused files --------------------------------------------------------------------------


def _refused(path: Path, **kwargs: float) -> str:
    with pytest.raises(FileRefused) as caught:
        read_file(path, **kwargs)  # type: ignore[arg-type]
    reason = caught.value.reason
    assert reason and str(caught.value) == reason
    return reason


def test_refuses_other_extensions(tmp_path: Path) -> None:
    for name in ("rapport.pdf", "donnees.xls", "donnees.csv.txt", "sans_extension"):
        path = tmp_path / name
        path.write_bytes(b"%PDF-1.4\n" + ";".join(HEURES_HEADERS).encode())
        assert "extension" in _refused(path).lower()


def test_refuses_empty_files(tmp_path: Path) -> None:
    for name, data in (("a.csv", b""), ("b.xlsx", b""), ("c.csv", b"\xef\xbb\xbf \r\n\r\n")):
        path = tmp_path / name
        path.write_bytes(data)
        assert "vide" in _refused(path) or "aucune donnée" in _refused(path)


def test_refuses_garbage_xlsx(tmp_path: Path) -> None:
    garbage = tmp_path / "g.xlsx"
    garbage.write_bytes(b"SIRET porteur;Mois\n" * 10)
    assert "pas un classeur" in _refused(garbage)
    ole = tmp_path / "old.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert "mot de passe" in _refused(ole)
    plain_zip = tmp_path / "z.xlsx"
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("hello.txt", "hello")
    assert "pas un classeur" in _refused(plain_zip)
    docx = tmp_path / "d.xlsx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert "Word" in _refused(docx)
    truncated = tmp_path / "t.xlsx"
    whole = _messy_workbook(tmp_path / "whole.xlsx").read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    _refused(truncated)
    broken_xml = tmp_path / "b.xlsx"
    with (
        zipfile.ZipFile(tmp_path / "whole.xlsx") as source,
        zipfile.ZipFile(broken_xml, "w") as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/workbook.xml":
                data = data[:40]
            target.writestr(info, data)
    _refused(broken_xml)


def _bomb_xlsx(path: Path, inflated: int) -> Path:
    whole = _messy_workbook(path.with_name("base.xlsx")).read_bytes()
    with (
        zipfile.ZipFile(io.BytesIO(whole)) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("xl/media/padding.bin", b"\x00" * inflated)
    return path


def test_refuses_zip_bomb_from_its_directory(tmp_path: Path) -> None:
    bomb = _bomb_xlsx(tmp_path / "bomb.xlsx", 20 << 20)
    assert bomb.stat().st_size < 200_000
    reason = _refused(bomb)
    assert "sécurité" in reason
    # the same file passes with a looser ratio, and a normal one fails a tiny absolute limit
    assert read_file(bomb, max_ratio=1000).tables
    assert "sécurité" in _refused(tmp_path / "base.xlsx", max_uncompressed=1000)


def test_refuses_zip_bomb_whose_directory_lies(tmp_path: Path) -> None:
    bomb = _bomb_xlsx(tmp_path / "liar.xlsx", 20 << 20)
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as archive:
        info = archive.getinfo("xl/media/padding.bin")
    small = (10).to_bytes(4, "little")
    # local header: uncompressed size at offset 22; central directory entry: at offset 24
    data[info.header_offset + 22 : info.header_offset + 26] = small
    name = b"xl/media/padding.bin"
    central = data.find(b"PK\x01\x02", 0)
    while central >= 0:
        name_length = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + name_length] == name:
            data[central + 24 : central + 28] = small
        central = data.find(b"PK\x01\x02", central + 4)
    bomb.write_bytes(bytes(data))
    with zipfile.ZipFile(bomb) as archive:
        assert archive.getinfo("xl/media/padding.bin").file_size == 10
    assert "sécurité" in _refused(bomb)


def test_refuses_csv_with_nul_bytes(tmp_path: Path) -> None:
    nul = tmp_path / "n.csv"
    nul.write_bytes(";".join(HEURES_HEADERS).encode() + b"\n\x00\x00")
    assert "octets nuls" in _refused(nul)
    utf16 = tmp_path / "u.csv"
    utf16.write_bytes(";".join(HEURES_HEADERS).encode("utf-16"))
    assert "octets nuls" in _refused(utf16)


def test_refuses_undecodable_csv_and_workbook_named_csv(tmp_path: Path) -> None:
    bad = tmp_path / "b.csv"
    bad.write_bytes(";".join(HEURES_HEADERS).encode("cp1252") + b"\n\x81\x8d\x90;x\n")
    assert "Encodage" in _refused(bad)
    renamed = tmp_path / "r.csv"
    renamed.write_bytes(_messy_workbook(tmp_path / "w.xlsx").read_bytes())
    assert "classeur" in _refused(renamed)


def test_refuses_files_without_a_kind(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "x.csv", ["Nom", "Heures", "Mois"], [["a", "1", "2024-03"]])
    assert "Aucun type" in _refused(csv_path)
    # the signature is there, but not on the first line: a CSV has no title rows
    titled = tmp_path / "t.csv"
    titled.write_text("Export\n" + ";".join(HEURES_HEADERS) + "\n", encoding="utf-8")
    _refused(titled)
    xlsx_path = write_xlsx(tmp_path / "x.xlsx", {"Notes": [["texte"]], "Synthèse": [["a", 1]]})
    assert "Aucun onglet" in _refused(xlsx_path)


def _lines(*lines: tuple[str, str]) -> bytes:
    """CSV lines (text, encoding) one after the other, each ended by CR LF."""
    return b"".join((text + "\r\n").encode(encoding) for text, encoding in lines)


HEURES_ROW = ";".join(HEURES_CLEAN[0])  # accents: "Collectivité", "Intérim"


@pytest.mark.parametrize("block", [8 << 20, 400])
def test_refuses_a_csv_mixing_utf8_and_cp1252_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """One encoding per CSV (contract §3): UTF-8 lines beside Windows-1252 ones refuse the file
    whole, naming a line of each, whichever comes first, also when the file is read by
    blocks (a big file: here blocks of 400 bytes)."""
    from clauses.read import csv_files

    monkeypatch.setattr(csv_files, "CSV_BLOCK_BYTES", block)
    head = ";".join(HEURES_HEADERS)
    mixed = tmp_path / "m.csv"
    mixed.write_bytes(_lines((head, "utf-8"), (HEURES_ROW, "utf-8"), (HEURES_ROW, "cp1252")))
    reason = _refused(mixed)
    assert "mélange deux encodages (UTF-8 et Windows-1252)" in reason
    assert "la ligne 1 est en UTF-8 et la ligne 3 en Windows-1252" in reason
    assert "CSV UTF-8" in reason
    later = tmp_path / "l.csv"  # Windows-1252 first, one UTF-8 line far down
    rows = [(HEURES_ROW, "cp1252")] * 30 + [(HEURES_ROW, "utf-8")] + [(HEURES_ROW, "cp1252")]
    later.write_bytes(b"\xef\xbb\xbf" + _lines((head, "cp1252"), *rows))
    assert "la ligne 32 est en UTF-8 et la ligne 1 en Windows-1252" in _refused(later)
    bare_cr = tmp_path / "r.csv"
    bare_cr.write_bytes(_lines((head, "utf-8"), (HEURES_ROW, "cp1252")).replace(b"\r\n", b"\r"))
    assert "la ligne 1 est en UTF-8 et la ligne 2 en Windows-1252" in _refused(bare_cr)


@pytest.mark.parametrize("block", [8 << 20, 400])
def test_a_cp1252_csv_whose_bytes_look_like_utf8_here_and_there_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Windows-1252 bytes that form UTF-8 sequences on a line with other accents ("Ã©" beside
    "é"), or that decode to no French character ("É" then a no-break space, U+0260), do not
    make a line UTF-8: the file is Windows-1252, read as such. A BOM before Windows-1252 text
    is no UTF-8 line either."""
    from clauses.read import csv_files

    monkeypatch.setattr(csv_files, "CSV_BLOCK_BYTES", block)
    head = ";".join(HEURES_HEADERS)
    odd = [*HEURES_CLEAN[0]]
    odd[2] = "OpÃ©ration"  # beside "Collectivité" and "Intérim"
    shouting = [*HEURES_CLEAN[1]]
    shouting[3] = "MARCHÉ\u00a0:"  # C9 A0, and "État" too
    path = tmp_path / "c.csv"
    path.write_bytes(
        _lines((head, "cp1252"), (";".join(odd), "cp1252"), (";".join(shouting), "cp1252"))
    )
    result = read_file(path)
    assert result.encoding == "cp1252"
    assert result.tables[0].frame["code_operation"].tolist() == ["OpÃ©ration", "OP-1"]
    assert result.tables[0].frame["num_marche"].tolist() == ["M-2024-01", "MARCHÉ\u00a0:"]
    bom = tmp_path / "b.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + _lines((head, "cp1252"), (HEURES_ROW, "cp1252")))
    assert read_file(bom).encoding == "cp1252"


def test_the_lines_of_a_mixed_csv_are_found_whatever_its_blocks() -> None:
    """Blocks of any size, cutting lines, characters and CR LF anywhere: the same lines."""
    from clauses.read import csv_encoding

    data = _lines(("a;b", "utf-8"), ("Ã©;é", "cp1252"), ("x;y", "utf-8"))
    data += b"z\rt;\xc3\xa9t\xc3\xa9\n\xe9t\xe9;1\r\n"  # bare CR, LF; UTF-8 on line 5
    for block in range(1, len(data) + 2):
        assert csv_encoding._utf8_and_other_lines(io.BytesIO(data), 0, block) == (5, 2), block
    cp1252 = _lines(("a;Ã©é", "cp1252"), ("É\u00a0;€", "cp1252"))
    for block in range(1, len(cp1252) + 2):
        assert csv_encoding._utf8_and_other_lines(io.BytesIO(cp1252), 0, block) is None, block


def _entry(path: Path) -> LandingEntry:
    return LandingEntry("11", dt.date(2024, 6, 1), path.name, path)


def _batch_values(batch: TextBatch | None) -> tuple[list[int], dict[str, list[str | None]]]:
    assert batch is not None
    return batch.rows.tolist(), {name: array.to_pylist() for name, array in batch.columns.items()}


def test_a_table_read_whole_reads_again_once_examined_and_pickles_as_itself(
    tmp_path: Path,
) -> None:
    """`examine` takes a small file's rows and its readers let them go (a worker process sends
    them once, not twice): reading the table again gives the same rows, from the file; the
    examined file pickles to the same rows, column order and nulls."""
    files = [
        write_csv(tmp_path / "heures.csv", HEURES_MESSY_HEADERS, heures_messy(" ")),
        _messy_workbook(tmp_path / "classeur.xlsx"),
    ]
    for path in files:
        opened = open_file(path)
        assert opened.whole
        item = examine(_entry(path), "sha", opened)
        again = pickle.loads(pickle.dumps(item))
        for table, copy in zip(item.tables, again.tables, strict=True):
            assert copy.text is not None and table.text is not None
            assert list(copy.text.columns) == list(table.text.columns)
            assert _batch_values(copy.text) == _batch_values(table.text)
            assert table.reader._kept is None  # type: ignore[attr-defined]
            assert _batch_values(concat_batches(list(table.reader.batches()))) == _batch_values(
                table.text
            )
            assert _batch_values(concat_batches(list(copy.reader.batches()))) == _batch_values(
                table.text
            )


@settings(deadline=None)  # the first example pays pyarrow's IPC set-up; shared machines
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30).flatmap(
        lambda first: st.tuples(
            st.just(first),
            st.lists(
                st.one_of(st.none(), st.text(max_size=5)), min_size=len(first), max_size=len(first)
            ),
        )
    )
)
def test_a_text_batch_pickles_to_the_same_values_and_nulls(
    values: tuple[list[str | None], list[str | None]],
) -> None:
    first, second = values
    rows = np.arange(3, 3 + len(first), dtype=np.int64)
    batch = TextBatch(rows, {"b": pa.array(first, pa.string()), "a": pa.array(second, pa.string())})
    for original in (batch, TextBatch(rows[:0], {})):
        copy = pickle.loads(pickle.dumps(original))
        assert copy.rows.dtype == original.rows.dtype
        assert _batch_values(copy) == _batch_values(original)
        assert [a.type for a in copy.columns.values()] == [
            a.type for a in original.columns.values()
        ]
