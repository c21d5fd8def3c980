"""A hostile landing zone, processed by one real `clauses run`.

More than forty files no facilitator should send (names that try to escape, symbolic links,
pipes and sockets, files that are not what their extension says, decompression bombs, very long
lines, very wide rows, NUL bytes, other encodings, formula payloads, a workbook with a million
formatted empty rows...) lie beside good files, some of them under odd but valid names. The run
must not crash, must stay under 1 GiB of memory, must refuse or quarantine each hostile file
with the right French reason, must never follow a link nor open anything that is not a regular
file, and must load every good file with all its rows. Formula payloads reach the extracts
neutralised; every expectation comes from the data contract (§1 landing, §3 reading, §4
quarantine, §7 outputs).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import xlsxwriter
from support.airflow_stack import fresh_postgres_database
from support.contract_files import SIRET_A, SIRET_B, SIRET_C, SIRET_D, make_siret, rezip

from clauses.contract.kinds import KINDS, Kind
from clauses.warehouse.engine import make_engine

AS_OF = "2025-06-30"
DAY = "2025-06-02"  # the receipt folder of the corpus
KEY = "hostile-corpus-test-key"
GIB = 1 << 30

SIRET_E = make_siret("40483304", "0018")
SIRET_F = make_siret("51234567", "0042")

# Formula payloads (OWASP CSV injection) planted in names and texts that reach the extracts.
PAYLOADS = (
    '=HYPERLINK("http://evil.example/x";"clic")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+33 6 12 34 56 78",
    "-2+3+cmd|' /C calc'!A0",
)


def headers(kind: Kind) -> list[str]:
    return [c.header for c in KINDS[kind].columns]


def heures(month: str, participant: str, *, hours: str = "10,5", **changes: str) -> list[str]:
    """One valid Heures row (contract §2.1) of SIRET_A for `month`."""
    row = dict.fromkeys(headers(Kind.HEURES), "")
    row.update(
        {
            "SIRET porteur": SIRET_A,
            "Mois": month,
            "Code opération": "OP-1",
            "N° marché": "M-1",
            "SIRET donneur d'ordre": SIRET_C,
            "Type de donneur d'ordre": "État",
            "SIRET employeur": SIRET_D,
            "Type d'employeur": "EI",
            "ID participant": participant,
            "Modalité": "CDI",
            "Heures réalisées": hours,
        }
    )
    row.update(changes)
    return list(row.values())


def csv_bytes(
    rows: Sequence[Sequence[str]],
    head: Sequence[str] | None = None,
    *,
    separator: str = ";",
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(head if head is not None else headers(Kind.HEURES))
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(
    sheets: dict[str, Sequence[Sequence[object]]], *, formatted_row: int | None = None
) -> bytes:
    """A workbook, every cell a text cell but numbers; `formatted_row` (0-based) of the first
    sheet gets a fill and no cell."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for index, (name, rows) in enumerate(sheets.items()):
        sheet = workbook.add_worksheet(name)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                if isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                elif value != "":
                    sheet.write_string(r, c, value)
        if index == 0 and formatted_row is not None:
            sheet.set_row(formatted_row, None, workbook.add_format({"bg_color": "#FFFF00"}))
    workbook.close()
    return buffer.getvalue()


def lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """The zip `data` whose directory and local header declare `size` bytes for `member`."""
    patched, name = bytearray(data), member.encode()
    for signature, size_at, name_length_at, name_at in (
        (b"PK\x01\x02", 24, 28, 46),
        (b"PK\x03\x04", 22, 26, 30),
    ):
        at = patched.find(signature)
        while at >= 0:
            length = int.from_bytes(
                patched[at + name_length_at : at + name_length_at + 2], "little"
            )
            if bytes(patched[at + name_at : at + name_at + length]) == name:
                patched[at + size_at : at + size_at + 4] = size.to_bytes(4, "little")
            at = patched.find(signature, at + 4)
    return bytes(patched)


def million_formatted_rows(workbook: bytes) -> bytes:
    """The workbook whose formatted empty row 11 is repeated down to row 1,000,010."""

    def repeat(sheet: bytes) -> bytes:
        text = sheet.decode()
        found = re.search(r'<row r="11"[^>]*/>', text)
        assert found, "xlsxwriter wrote no formatted empty row"
        element = found.group(0)
        rows = "".join(element.replace('r="11"', f'r="{n}"') for n in range(11, 1_000_011))
        text = text[: found.start()] + rows + text[found.end() :]
        return re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:P1000010"/>', text).encode()

    source = zipfile.ZipFile(io.BytesIO(workbook))
    return rezip(
        workbook,
        replace={"xl/worksheets/sheet1.xml": repeat(source.read("xl/worksheets/sheet1.xml"))},
    )


def write_gib_bomb(path: Path, workbook: bytes) -> None:
    """A workbook whose parts inflate to 1.1 GiB, yet only some 65 times its size: refused for
    the absolute limit, not the ratio."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        noise = random.Random(8).randbytes(12 << 20)  # incompressible: keeps the ratio low
        target.writestr(zipfile.ZipInfo("xl/media/image1.png"), noise, zipfile.ZIP_STORED)
        with target.open("xl/media/image2.bin", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(1100):
                member.write(chunk)


PDF = (
    b"%PDF-1.4\n1 0 obj << /Length 34 /Filter /FlateDecode >> stream\n"
    + zlib.compress(b"BT /F1 12 Tf (SIRET porteur;Mois) Tj ET")
    + b"\nendstream endobj\n%%EOF\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I", 13)
    + b"IHDR"
    + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    + b"\0\0\0\0"
)
HTML = b"<!DOCTYPE html><html><body><table><tr><td>SIRET porteur</td></tr></table></body></html>\n"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # an old .xls, or an encrypted workbook


# --------------------------------------------------------------------------------------------
# The corpus and what the contract expects of each piece
# --------------------------------------------------------------------------------------------


@dataclass
class Expected:
    """What should become of one entry of a region and date folder."""

    status: str  # Statut in fichiers.csv: chargé, refusé, en quarantaine, doublon
    reason: str = ""  # a substring of Motif (and of the French report)
    rows: int | None = None  # data rows (chargé)
    read: bool = True  # False: refused on its name or type alone, never opened


@dataclass
class Corpus:
    landing: Path
    outside_dir: Path  # a folder outside the landing zone, reachable only through links
    entries: dict[tuple[str, str], Expected]  # (region, shown name) -> expectation
    sources: dict[tuple[str, str], bytes]  # bytes of every entry that is a regular file
    outside: dict[str, str]  # path relative to landing/ -> reason (run summary)

    def put(self, name: str | bytes, data: bytes, expected: Expected, region: str = "11") -> Path:
        folder = self.landing / region / DAY
        folder.mkdir(parents=True, exist_ok=True)
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
        path.write_bytes(data)
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        self.entries[(region, shown)] = expected
        self.sources[(region, shown)] = data
        return path

    def special(self, name: str, make: object, expected: Expected, region: str = "11") -> None:
        folder = self.landing / region / DAY
        folder.mkdir(parents=True, exist_ok=True)
        make(folder / name)  # type: ignore[operator]
        self.entries[(region, name)] = expected


LINK = "lien symbolique"
NOT_REGULAR = "n'est pas un fichier ordinaire"
CONTROL = "caractère de contrôle"
EXTENSION = "extension non acceptée"
NUL = "octets nuls"
NOT_XLSX = "n'est pas un classeur Excel valide"
BOMB = "refusé par sécurité"
NO_KIND = "Aucun type de fichier reconnu"
MIXED = "mélange deux encodages (UTF-8 et Windows-1252)"


def build_corpus(root: Path) -> Corpus:
    landing, outside_dir = root / "landing", root / "elsewhere"
    outside_dir.mkdir(parents=True)
    corpus = Corpus(landing, outside_dir, {}, {}, {})
    put = corpus.put

    # ---- good files: every row must be loaded (each Heures file its own month) -------------
    register_head = headers(Kind.CONVENTIONS)

    def strand(number: str, siret: str, name: str, **changes: str) -> list[str]:
        values = dict.fromkeys(register_head, "")
        values.update(
            {
                "N° convention": number,
                "Millésime": "2024",
                "Code région": "11",
                "SIRET porteur": siret,
                "Raison sociale": name,
                "Catégorie juridique": "9220",
                "Volet": "facilitateur",
                "ETP conventionnés": "1,0",
                "Date de début": "01/01/2024",
                "Date de fin": "31/12/2024",
                "Date de recrutement": "01/02/2024",
                "Coût total": "60 000,00",
                "Subvention État": "40 000,00",
                "Cofinancements": "20 000,00",
                "Avance versée": "20 000,00",
                "N° avenant": "0",
                "Objectif heures": "1000",
            }
        )
        values.update(changes)
        return list(values.values())

    register = [
        strand("C-11-001", SIRET_A, PAYLOADS[0]),
        strand(PAYLOADS[2], SIRET_B, PAYLOADS[1]),
        strand("+C-11-003", SIRET_E, "<script>alert(1)</script> Association"),
    ]
    put("registre 2024.csv", csv_bytes(register, register_head), Expected("chargé", rows=3))
    january = [
        heures("2024-01", "P1", **{"Code opération": PAYLOADS[1]}),
        heures("2024-01", "P2", hours="151,5", **{"N° marché": PAYLOADS[0]}),
        heures("2024-01", "P3", hours="12,5", **{"Code opération": "@A1"}),
    ]
    put("heures 2024-01.csv", csv_bytes(january), Expected("chargé", rows=3))
    put("vieille copie de janvier.csv", csv_bytes(january), Expected("doublon", "identique"))
    put(
        "heures_2024-02.csv",
        csv_bytes(
            [heures("2024-02", "P1", hours="70.5", Modalité="Intérim"), heures("2024-02", "P4")],
            separator=",",
            encoding="cp1252",
        ),
        Expected("chargé", rows=2),
    )
    put(
        "heures-2024-03.csv",
        b"\xef\xbb\xbf"
        + csv_bytes(
            [heures("2024-03", "P1", hours="0,5"), heures("2024-03", "P5", hours="12\u202f")],
            separator="\t",
        ),
        Expected("chargé", rows=2),
    )
    marches_head = headers(Kind.MARCHES)
    marche = dict.fromkeys(marches_head, "")
    marche.update(
        {
            "SIRET porteur": SIRET_A,
            "Mois": "2024-04",
            "SIRET donneur d'ordre": SIRET_C,
            "Type de donneur d'ordre": "Collectivité territoriale",
            "N° marché": "M-9",
            "Objet": PAYLOADS[3],
            "Nature": "Travaux",
            "Type de clause": "Condition d'exécution",
            "Montant HT": "1 234 567,89",
            "Heures prévues": "700",
        }
    )
    put(
        "Export 2024-04.xlsx",
        xlsx_bytes(
            {
                "Heures": [
                    ["Export de l'outil ABC Clauses"],
                    [""],
                    headers(Kind.HEURES),
                    *(heures("2024-04", f"P{n}") for n in range(1, 5)),
                    ["Total", "", "", "", "", "", "", "", "", "", "", "", "42"],
                ],
                "Marchés": [
                    marches_head,
                    list(marche.values()),
                    list({**marche, "N° marché": "M-10"}.values()),
                ],
                "Notes": [["=SUM(A1:A2)", "rien à lire ici"]],
            }
        ),
        Expected("chargé", rows=6),
    )
    contacts_head = headers(Kind.CONTACTS)
    put(
        "contacts.csv",
        csv_bytes(
            [
                [SIRET_A, "2024-05", "12/05/2024", SIRET_C, "État", PAYLOADS[4]],
                [SIRET_A, "2024-05", "2024-05-13", SIRET_F, "Bailleur social", ""],
            ],
            contacts_head,
        ),
        Expected("chargé", rows=2),
    )
    put("en-tête seul.csv", csv_bytes([]), Expected("chargé", rows=0))
    # Odd but valid names (contract §1: any valid UTF-8 name without control characters).
    odd_names = [
        "..%2F..%2Fetc%2Fpasswd.csv",
        " espace devant.csv",
        "Activité été — données 🚀.csv",
        ".cache.csv",
        "...csv",
        "é" * 120 + ".csv",  # 244 bytes
        "con.csv",
        "e\u0301te\u0301.csv",  # decomposed accents
        "été.csv",  # the same name, composed: another file
        *(payload.replace("/", "-") + ".csv" for payload in PAYLOADS),
        "MAJUSCULES.CSV",
    ]
    for number, name in enumerate(odd_names):
        month = f"{2022 + number // 12}-{number % 12 + 1:02d}"
        put(name, csv_bytes([heures(month, "P1"), heures(month, "P2")]), Expected("chargé", rows=2))
    put(
        "ÉTÉ.XLSX",
        xlsx_bytes({"Heures": [headers(Kind.HEURES), heures("2023-06", "P1")]}),
        Expected("chargé", rows=1),
    )
    # SIRETs that lost 3 to 5 leading zeros, as text and as number cells (contract 1.2, §3).
    for lost in (3, 4, 5):
        siret = make_siret("0" * lost + "97715715"[: 8 - lost], "0017")
        short = siret.lstrip("0")
        row = heures("2023-04", "P1", **{"SIRET porteur": short, "SIRET employeur": short})
        put(f"siret sans {lost} zéros.csv", csv_bytes([row]), Expected("chargé", rows=1))
        row = heures("2023-05", "P1", **{"SIRET porteur": short, "SIRET employeur": short})
        cells: list[object] = list(row)
        cells[0] = int(short)
        put(
            f"siret sans {lost} zéros.xlsx",
            xlsx_bytes({"Heures": [headers(Kind.HEURES), cells]}),
            Expected("chargé", rows=1),
        )
    # Very wide rows: 10,000 unknown columns beside the contract's, ignored and reported.
    wide_head = headers(Kind.HEURES) + [f"colonne {n}" for n in range(10_000)]
    put(
        "très large.csv",
        csv_bytes([heures("2023-07", p) + ["x"] * 10_000 for p in ("P1", "P2")], wide_head),
        Expected("chargé", rows=2, reason="colonne 1014 … et 9980 autres colonnes"),
    )
    # A million formatted empty rows below two data rows: read in bounded memory.
    base_workbook = xlsx_bytes(
        {"Heures": [headers(Kind.HEURES), heures("2023-08", "P1"), heures("2023-08", "P2")]},
        formatted_row=10,
    )
    put(
        "un million de lignes vides.xlsx",
        million_formatted_rows(base_workbook),
        Expected("chargé", rows=2),
    )

    # ---- refused on the name or the type of entry, never opened -----------------------------
    folder = landing / "11" / DAY
    good_target = folder / "heures 2024-01.csv"
    passwd = outside_dir / "passwd.csv"
    passwd.write_bytes(csv_bytes([heures("2030-01", "OUTSIDE")]))
    corpus.special(
        "lien interne.csv",
        lambda p: p.symlink_to(good_target),
        Expected("refusé", LINK, read=False),
    )
    corpus.special(
        "lien externe.csv", lambda p: p.symlink_to(passwd), Expected("refusé", LINK, read=False)
    )
    corpus.special(
        "lien etc.csv", lambda p: p.symlink_to("/etc/passwd"), Expected("refusé", LINK, read=False)
    )
    corpus.special(
        "lien cassé.csv",
        lambda p: p.symlink_to(root / "nowhere.csv"),
        Expected("refusé", LINK, read=False),
    )
    corpus.special(
        "lien dossier.xlsx",
        lambda p: p.symlink_to(outside_dir),
        Expected("refusé", LINK, read=False),
    )
    corpus.special("tube.csv", os.mkfifo, Expected("refusé", NOT_REGULAR, read=False))

    def unix_socket(path: Path) -> None:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()

    corpus.special("prise.csv", unix_socket, Expected("refusé", NOT_REGULAR, read=False))
    corpus.special("dossier.csv", Path.mkdir, Expected("refusé", NOT_REGULAR, read=False))
    good = csv_bytes([heures("2030-02", "NEVER")])
    for name, reason in (
        ("retour\nà la ligne.csv", CONTROL),
        ("tabulation\t.csv", CONTROL),
        ("échappement\x1b[31m.csv", CONTROL),
        ("facture\u202evsc.xlsx", "sens d'écriture"),
        ("..\\..\\Windows\\evil.csv", "sort de son dossier"),
        ("notes.txt", EXTENSION),
        ("export.csv.exe", EXTENSION),
        ("sans extension", EXTENSION),
        ("espace après.csv ", EXTENSION),
        (b"latin1-\xe9t\xe9.csv", "UTF-8"),
    ):
        put(name, good, Expected("refusé", reason, read=False))

    # ---- refused on reading: a copy and a report kept in quarantine --------------------------
    workbook = xlsx_bytes({"Heures": [headers(Kind.HEURES), heures("2030-03", "NEVER")]})
    january_text = csv_bytes(january)
    bomb = rezip(workbook, add=[("xl/media/image1.bin", bytes(60 << 20))])
    corrupt = bytearray(workbook)
    sheet_at = corrupt.find(b"xl/worksheets/sheet1.xml")
    corrupt[sheet_at + 60 : sheet_at + 400] = random.Random(3).randbytes(340)
    billion_laughs = (
        b'<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b"<!ENTITY " + bytes([c]) + b' "' + (b"&" + bytes([c - 1]) + b";") * 10 + b'">'
            for c in range(ord("b"), ord("j"))
        )
        + b'<!ENTITY x SYSTEM "file:///etc/passwd">]><sst'
    )
    shared = zipfile.ZipFile(io.BytesIO(workbook)).read("xl/sharedStrings.xml")
    for name, data, reason in (
        ("rapport.pdf.csv", PDF, NUL),
        ("image.csv", PNG, NUL),
        ("archive.csv", rezip(workbook), "archive zip"),
        ("page.csv", HTML, NO_KIND),
        ("page.xlsx", HTML + b"<!-- xlsx -->", NOT_XLSX),
        ("rapport.xlsx", PDF + b"%xlsx\n", NOT_XLSX),
        ("image.xlsx", PNG + b"xlsx", NOT_XLSX),
        ("texte.xlsx", csv_bytes([heures("2030-03", "P9")]), NOT_XLSX),
        (
            "archive.xlsx",
            rezip(workbook, drop=["[Content_Types].xml", "xl/workbook.xml"]),
            NOT_XLSX,
        ),
        (
            "lettre.xlsx",
            rezip(workbook, add=[("word/document.xml", b"<w/>")], drop=["xl/workbook.xml"]),
            "document Word",
        ),
        (
            "calc.xlsx",
            rezip(
                b"PK\x05\x06" + bytes(18),
                add=[
                    ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                    ("content.xml", b"<x/>"),
                ],
            ),
            "OpenDocument",
        ),
        ("ancien.xlsx", OLE2, "ancien format .xls"),
        ("bombe.xlsx", bomb, BOMB),
        ("bombe menteuse.xlsx", lie_about_size(bomb, "xl/media/image1.bin", 1000), BOMB),
        ("tronqué.xlsx", workbook[: len(workbook) // 2], NOT_XLSX),
        ("abîmé.xlsx", bytes(corrupt), NOT_XLSX),
        (
            "entités.xlsx",
            rezip(
                workbook,
                replace={
                    "xl/sharedStrings.xml": shared.replace(b"<sst", billion_laughs, 1).replace(
                        b"<t>NEVER</t>", b"<t>&i;&x;</t>"
                    )
                },
            ),
            NOT_XLSX,
        ),
        ("vide.csv", b"", "vide (0 octet)"),
        ("blanc.csv", b"  \r\n\r\n \t\r\n", "aucune donnée"),
        ("utf16.csv", january_text.decode().encode("utf-16"), "UTF-16"),
        ("octet nul.csv", january_text.replace(b"OP-1", b"OP\x00-1", 1), NUL),
        (
            "ni utf8 ni cp1252.csv",
            january_text.replace(b"M-1", b"M\x81\x8d-1", 1),
            "Encodage du fichier non reconnu",
        ),
        ("inconnu.csv", b"colonne a;colonne b\r\n1;2\r\n", NO_KIND),
        ("notes.xlsx", xlsx_bytes({"Notes": [["Compte rendu"], ["rien"]]}), "Aucun onglet reconnu"),
        (
            "ligne géante.csv",
            csv_bytes([heures("2030-04", "NEVER")]) + b"X" * (20 << 20) + b"\r\n",
            "la ligne 3 fait plus de 1\u202f048\u202f576 octets",
        ),
        # One 20 MB line, no line break: it once failed the whole region (issue 16).
        ("une seule ligne.csv", b"Heures;" * (3 << 20), "la ligne 1 fait plus de"),
        (
            "valeur démesurée.csv",
            csv_bytes([heures("2030-04", "NEVER", **{"N° marché": "M" * 40_000})]),
            "ligne 2, colonne « N° marché »",
        ),
        (
            "en-tête accentué mixte.csv",
            csv_bytes([heures("2030-05", "NEVER")])
            + ";".join(heures("2030-05", "P2", Modalité="Intérim")).encode("cp1252")
            + b"\r\n",
            "la ligne 1 est en UTF-8 et la ligne 3 en Windows-1252",
        ),
    ):
        put(name, data, Expected("refusé", reason))
    # The same empty bytes again: listed as a copy of the empty CSV (contract §1, SHA-256).
    put("vide.xlsx", b"", Expected("doublon", "identique"))
    write_gib_bomb(folder / "bombe d'un gigaoctet.xlsx", workbook)
    corpus.entries[("11", "bombe d'un gigaoctet.xlsx")] = Expected("refusé", "1,0 Gio")
    corpus.sources[("11", "bombe d'un gigaoctet.xlsx")] = (
        folder / "bombe d'un gigaoctet.xlsx"
    ).read_bytes()

    # ---- read, then quarantined: a blocking rule fails (contract §4) --------------------------
    ascii_head = [
        "SIRET porteur",
        "Mois",
        "Code operation",
        "N marche",
        "N lot",
        "SIRET donneur d'ordre",
        "Type de donneur d'ordre",
        "SIRET employeur",
        "Type d'employeur",
        "ID participant",
        "Public prioritaire",
        "Modalite",
        "Heures realisees",
        "Heures de formation",
        "Sexe",
        "Annee de naissance",
    ]
    no_month = [h for h in headers(Kind.HEURES) if h != "Mois"]
    for name, data, reason in (
        (
            "siret invalide.csv",
            csv_bytes([heures("2030-06", "P1", **{"SIRET employeur": "12345678901234"})]),
            "SIRET employeur",
        ),
        (
            "sans mois.csv",
            csv_bytes(
                [
                    [
                        v
                        for h, v in zip(headers(Kind.HEURES), heures("2030-07", "P1"), strict=True)
                        if h != "Mois"
                    ]
                ],
                no_month,
            ),
            "Mois",
        ),
        ("identifiant trop long.csv", csv_bytes([heures("2030-08", "P" * 65)]), "ID participant"),
        ("lignes en double.csv", csv_bytes([heures("2030-09", "P1")] * 2), "double"),
        (
            "heures en formule.csv",
            csv_bytes([heures("2030-10", "P1", hours="=1+1")]),
            "Heures réalisées",
        ),
        (
            "heures absurdes.csv",
            csv_bytes([heures("2030-11", "P1", hours="1e308")]),
            "Heures réalisées",
        ),
        (
            "guillemet ouvert.csv",
            csv_bytes([heures("2030-12", "P1")])
            + b'"'
            + ";".join(heures("2030-12", "P2")).encode()
            + b"\r\n",
            "SIRET porteur",
        ),
        (
            "bom puis cp1252.csv",
            b"\xef\xbb\xbf"
            + csv_bytes([heures("2031-01", "P1", Modalité="Intérim")], encoding="cp1252"),
            "SIRET porteur",
        ),
        (
            "registre d'une autre région.csv",
            csv_bytes(
                [
                    strand("C-24-001", SIRET_F, "Autre région")[:2]
                    + ["24"]
                    + strand("C-24-001", SIRET_F, "x")[3:]
                ],
                register_head,
            ),
            "Code région",
        ),
        (
            # Beyond a 32-bit INTEGER, the warehouse's type of N° avenant: an invalid value of
            # the file, not a load PostgreSQL refuses (which would fail the whole region).
            "registre avenant démesuré.csv",
            csv_bytes(
                [
                    strand("C-11-901", SIRET_A, "Avenant ordinaire"),
                    strand("C-11-902", SIRET_B, "Avenant démesuré", **{"N° avenant": "3000000000"}),
                ],
                register_head,
            ),
            "N° avenant",
        ),
    ):
        put(name, data, Expected("en quarantaine", reason))
    # Mixed encodings, the mojibake landing in an enumeration or in free text: one encoding per
    # CSV (contract §3), a file that cannot be read consistently is refused (§4).
    put(
        "encodages mélangés, énumération.csv",
        csv_bytes(
            [heures("2031-02", "P1", Modalité="Intérim", **{"Type de donneur d'ordre": "Etat"})],
            ascii_head,
        )
        + ";".join(
            heures("2031-02", "P2", Modalité="Intérim", **{"Type de donneur d'ordre": "Etat"})
        ).encode("cp1252")
        + b"\r\n",
        Expected("refusé", MIXED),
    )
    put(
        "encodages mélangés, texte.csv",
        csv_bytes(
            [
                heures(
                    "2023-11",
                    "P1",
                    **{"Code opération": "Opé-1", "Type de donneur d'ordre": "Etat"},
                )
            ],
            ascii_head,
        )
        + ";".join(
            heures(
                "2023-11", "P2", **{"Code opération": "Opé-2", "Type de donneur d'ordre": "Etat"}
            )
        ).encode("cp1252")
        + b"\r\n",
        Expected("refusé", MIXED),
    )

    # ---- another region, isolated from region 11 ------------------------------------------------
    put(
        "heures.csv",
        csv_bytes([heures("2024-01", "P9", **{"SIRET porteur": SIRET_F})]),
        Expected("chargé", rows=1),
        region="24",
    )
    put("inversé\u202e.csv", good, Expected("refusé", "sens d'écriture", read=False), region="24")

    # ---- outside any valid region and date folder: refused, reported in the run's summary ----
    def drop(relative: str, data: bytes = good) -> None:
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    drop(f"99/{DAY}/inconnue.csv")
    corpus.outside["99"] = "dossier de région inconnu"
    drop(f"Corse/{DAY}/x.csv")
    corpus.outside["Corse"] = "dossier de région inconnu"
    drop("LISEZMOI.txt")
    corpus.outside["LISEZMOI.txt"] = "dossier de région inconnu"
    drop(f".cache/{DAY}/x.csv")
    corpus.outside[".cache"] = "dossier de région inconnu"
    os.makedirs(os.path.join(os.fsencode(landing), b"\xff\xfe", os.fsencode(DAY)))
    corpus.outside["\\xff\\xfe"] = "dossier de région inconnu"
    (outside_dir / DAY).mkdir()
    (outside_dir / DAY / "ailleurs.csv").write_bytes(csv_bytes([heures("2030-01", "OUTSIDE")]))
    (landing / "84").symlink_to(outside_dir, target_is_directory=True)
    corpus.outside["84"] = "dossier de région inconnu"
    drop("11/2025-13-45/x.csv")
    corpus.outside["11/2025-13-45"] = "dossier de date invalide"
    drop("11/juin/x.csv")
    corpus.outside["11/juin"] = "dossier de date invalide"
    (landing / "11" / "2025-06-03").symlink_to(outside_dir / DAY, target_is_directory=True)
    corpus.outside["11/2025-06-03"] = "dossier de date invalide"
    drop("11/déposé en vrac.csv")  # loose: waits for the live run, a backfill leaves it
    drop("11/2025-07-15/plus tard.csv")  # received after D: not received yet as of D
    return corpus


# --------------------------------------------------------------------------------------------
# One run over the corpus
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    corpus: Corpus
    data_dir: Path
    warehouse_url: str
    code: int
    output: str
    peak_rss: int  # bytes
    summary: dict
    files: dict[tuple[str, str], dict[str, str]]  # (region, Fichier) -> fichiers.csv row


def read_csv(path: Path) -> list[dict[str, str]]:
    # A Motif may be long (see EXCEL_CELL): the limit is raised for this read only, and put back,
    # so that no later test of the process reads CSV with a limit the pipeline does not have.
    default = csv.field_size_limit(1 << 30)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle, delimiter=";"))
    finally:
        csv.field_size_limit(default)


CELL_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def unneutralised(cell: str) -> str:
    """A text cell of an extract as it was before its formula trigger was neutralised."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(CELL_TRIGGERS) else cell


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def outcome(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    """One run over the corpus, on the default SQLite warehouse or on a fresh, empty PostgreSQL
    database (dropped once the module's tests have read it)."""
    root = tmp_path_factory.mktemp(f"hostile-{request.param}")
    data_dir = root / "data"
    if request.param == "postgresql":
        with fresh_postgres_database(
            request.getfixturevalue("postgres_server"), "clauses_hostile"
        ) as url:
            yield run_over_corpus(root, data_dir, url)
    else:
        yield run_over_corpus(root, data_dir, None)


def run_over_corpus(root: Path, data_dir: Path, warehouse_url: str | None) -> Outcome:
    """`clauses run` over the corpus built in `data_dir`, on `warehouse_url` (None: the default
    SQLite file of the data folder)."""
    corpus = build_corpus(data_dir)
    env = {
        **os.environ,
        "CLAUSES_DATA_DIR": str(data_dir),
        "CLAUSES_PSEUDONYM_KEY": KEY,
        "GX_ANALYTICS_ENABLED": "False",
    }
    env.pop("CLAUSES_WAREHOUSE_URL", None)
    env.pop("CLAUSES_DEMO", None)
    if warehouse_url is not None:
        env["CLAUSES_WAREHOUSE_URL"] = warehouse_url
    summary_path = root / "summary.json"
    with open(root / "run.log", "w+b") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clauses.cli",
                "run",
                "--date",
                AS_OF,
                "--json-report",
                str(summary_path),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # wait4 gives the resources of this child alone (RUSAGE_CHILDREN would mix in every
        # earlier child of the test session).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {"regions": {}, "outside": []}  # the run died first: see its output
    files = {}
    for region in ("11", "24"):
        path = data_dir / "extracts" / region / AS_OF / "fichiers.csv"
        if path.exists():
            for row in read_csv(path):
                files[(region, unneutralised(row["Fichier"]))] = row
    return Outcome(
        corpus,
        data_dir,
        warehouse_url or f"sqlite:///{(data_dir / 'warehouse.sqlite').resolve()}",
        process.returncode,
        output,
        usage.ru_maxrss * 1024,
        summary,
        files,
    )


def test_the_run_survives_within_bounded_memory(outcome: Outcome) -> None:
    # A run with refused and quarantined files succeeds (cli.py: 1 only when a region failed).
    assert outcome.code == 0, outcome.output[-5000:]
    assert all(not r["error"] for r in outcome.summary["regions"].values()), outcome.summary
    assert outcome.peak_rss < GIB, f"peak RSS {outcome.peak_rss / 2**20:.0f} MiB"


EXCEL_CELL = 32_767  # characters a spreadsheet cell holds (Excel, LibreOffice)


def matches(expected: Expected, row: dict[str, str] | None) -> str | None:
    """Why `row` (of fichiers.csv) does not meet `expected`; None when it does."""
    if row is None:
        return "not listed in fichiers.csv"
    if row["Statut"] not in expected.status.split("|"):
        return f"Statut {row['Statut']!r}, Motif {row['Motif'][:200]!r}"
    if expected.reason and expected.reason not in row["Motif"]:
        return f"Motif {row['Motif'][:300]!r} lacks {expected.reason!r}"
    if expected.rows is not None and row["Lignes"] != str(expected.rows):
        return f"Lignes {row['Lignes']!r}, expected {expected.rows}"
    if not expected.read and row["SHA-256"]:
        return "read although it should have been refused unread"
    if len(row["Motif"]) > EXCEL_CELL:
        return f"Motif of {len(row['Motif'])} characters: a spreadsheet cell holds {EXCEL_CELL}"
    return None


def test_each_entry_is_listed_with_the_right_status_and_reason(outcome: Outcome) -> None:
    corpus = outcome.corpus
    assert len(corpus.entries) >= 80
    hostile = [e for e in corpus.entries.values() if e.status != "chargé"]
    assert len(hostile) >= 40
    problems = {
        key: problem
        for key, expected in corpus.entries.items()
        if (problem := matches(expected, outcome.files.get(key))) is not None
    }
    assert not problems, "\n".join(f"{k}: {p}" for k, p in problems.items())
    listed = {key for key in outcome.files if key[0] in ("11", "24")}
    assert listed == set(corpus.entries), listed ^ set(corpus.entries)


STAGING = ("heures", "marches", "contacts", "partenariats", "bilans", "conventions")


def test_good_files_are_loaded_with_every_row(outcome: Outcome) -> None:
    # The subquery is named: PostgreSQL requires it, SQLite accepts it.
    rows_by_file = sa.text(
        "SELECT file_sha256, COUNT(*) FROM ("
        + " UNION ALL ".join(f"SELECT file_sha256 FROM stg_{t}" for t in STAGING)
        + ") AS staged GROUP BY file_sha256"
    )
    engine = make_engine(outcome.warehouse_url)
    try:
        with engine.connect() as warehouse:
            loaded = {sha: n for sha, n in warehouse.execute(rows_by_file)}
            months = {
                m for (m,) in warehouse.execute(sa.text("SELECT DISTINCT mois FROM stg_heures"))
            }
    finally:
        engine.dispose()  # no connection left open on the database dropped after the module
    good = [(k, e) for k, e in outcome.corpus.entries.items() if e.status == "chargé"]
    assert len(good) >= 25
    for key, expected in good:
        sha = outcome.files[key]["SHA-256"]
        assert loaded.get(sha, 0) == expected.rows, key
    # What was never meant to be read left no row: nothing behind a link or after D.
    assert not {m for m in months if m >= "2030-01"}, sorted(months)


def test_quarantine_holds_reports_and_copies_only_of_what_was_read(outcome: Outcome) -> None:
    for (region, name), expected in outcome.corpus.entries.items():
        if expected.status == "chargé":
            continue
        if expected.status == "doublon":
            continue
        folder = outcome.data_dir / "quarantine" / region / DAY
        report = (folder / f"{name}.rapport.txt").read_text(encoding="utf-8")
        assert expected.reason in report, (name, report[:500])
        twin = json.loads((folder / f"{name}.rapport.json").read_text(encoding="utf-8"))
        assert twin["fichier"] == name
        copy = folder / name
        if expected.read:
            assert copy.read_bytes() == outcome.corpus.sources[(region, name)], name
        else:  # refused unread: no copy, nothing followed
            assert not os.path.lexists(copy), name
    quarantined = {p.name for p in (outcome.data_dir / "quarantine").rglob("*")}
    assert "passwd" not in " ".join(quarantined)
    assert not any(
        "root:" in p.read_text("utf-8", "replace")
        for p in (outcome.data_dir / "quarantine").rglob("*.rapport.*")
    )


def test_what_lies_outside_the_folders_is_reported_and_left_alone(outcome: Outcome) -> None:
    refused = dict(outcome.summary["outside"])
    for path, reason in outcome.corpus.outside.items():
        assert reason in refused.get(path, ""), (path, refused)
    landing = outcome.corpus.landing
    assert (landing / "11" / "déposé en vrac.csv").exists()  # a backfill moves no loose file
    assert not (landing / "11" / AS_OF).exists()
    assert not any("plus tard" in name for _, name in outcome.files)  # not received as of D


NUMBER = re.compile(r"^-?\d+(,\d+)?$")


def test_formula_payloads_reach_the_extracts_neutralised(outcome: Outcome) -> None:
    extracts = outcome.data_dir / "extracts"
    seen: set[str] = set()
    for path in extracts.rglob("*.csv"):
        for row in csv.reader(open(path, encoding="utf-8-sig", newline=""), delimiter=";"):
            for cell in row:
                assert not (cell.startswith(CELL_TRIGGERS) and not NUMBER.match(cell)), (path, cell)
                seen |= {
                    p
                    for p in PAYLOADS
                    if cell.startswith("'" + p.replace("/", "-")) or cell.startswith("'" + p)
                }
    assert seen == set(PAYLOADS), set(PAYLOADS) - seen
    formulas = []
    for path in extracts.rglob("*.xlsx"):
        workbook = openpyxl.load_workbook(path)
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                formulas += [(path.name, c.coordinate) for c in row if c.data_type == "f"]
    assert not formulas
    for path in extracts.rglob("*.html"):
        assert "<script>alert" not in path.read_text(encoding="utf-8")


def test_a_long_but_valid_name_is_quarantined_like_any_other(tmp_path: Path) -> None:
    """Names up to the file system's limit are valid (contract §1): a file whose name is 250
    bytes long is quarantined or refused with its report, and the region goes on."""
    data_dir = tmp_path / "data"
    corpus = Corpus(data_dir / "landing", tmp_path, {}, {}, {})
    corpus.put("bon.csv", csv_bytes([heures("2024-01", "P1")]), Expected("chargé", rows=1))
    corpus.put(
        "Q" * 246 + ".csv",
        csv_bytes([heures("2024-02", "P1", **{"SIRET employeur": "12345678901234"})]),
        Expected("en quarantaine", "SIRET employeur"),
    )
    corpus.put("R" * 246 + ".csv", PDF, Expected("refusé", NUL))
    env = {
        **os.environ,
        "CLAUSES_DATA_DIR": str(data_dir),
        "CLAUSES_PSEUDONYM_KEY": KEY,
        "GX_ANALYTICS_ENABLED": "False",
    }
    env.pop("CLAUSES_WAREHOUSE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "clauses.cli", "run", "--date", AS_OF],
        env=env,
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout.decode()[-3000:] + done.stderr.decode()[-3000:]
    files = {
        ("11", unneutralised(row["Fichier"])): row
        for row in read_csv(data_dir / "extracts" / "11" / AS_OF / "fichiers.csv")
    }
    for key, expected in corpus.entries.items():
        assert matches(expected, files.get(key)) is None, (key, files.get(key))
        if expected.status != "chargé":
            folder = data_dir / "quarantine" / "11" / DAY
            assert any(
                p.name.startswith(key[1][:100]) for p in folder.iterdir() if "rapport" in p.name
            )
