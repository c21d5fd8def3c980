"""Builders of small contract files (CSV, XLSX) and valid SIRETs, for the reading tests."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

from clauses.contract.kinds import KINDS, Kind


def luhn_digit(prefix: str) -> str:
    """The digit that makes ``prefix + digit`` pass the Luhn check."""
    for digit in "0123456789":
        if luhn_ok(prefix + digit):
            return digit
    raise AssertionError("unreachable")


def luhn_ok(number: str) -> bool:
    """Reference Luhn check, one digit at a time."""
    total = 0
    for position, char in enumerate(reversed(number)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siret_ok(siret: str) -> bool:
    """Reference check of a 14-digit SIRET, digit by digit (domain.md): Luhn on the SIRET and
    on its SIREN; La Poste's establishments (SIREN 356000000): digit sum a multiple of 5."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith("356000000"):
        return sum(map(int, siret)) % 5 == 0
    return luhn_ok(siret) and luhn_ok(siret[:9])


def make_siret(siren8: str, nic4: str) -> str:
    """A valid SIRET from 8 SIREN digits and 4 establishment digits (check digits added)."""
    siren = siren8 + luhn_digit(siren8)
    body = siren + nic4
    return body + luhn_digit(body)


SIRET_A = make_siret("73282932", "0007")  # no leading zero
SIRET_B = make_siret("00123456", "0001")  # two leading zeros
SIRET_C = make_siret("05521005", "5400")  # one leading zero
SIRET_D = make_siret("44306184", "0004")


HEURES = [c.header for c in KINDS[Kind.HEURES].columns]


def heures_row(i: int, **changes: str) -> list[str]:
    values = {
        "SIRET porteur": (SIRET_A, SIRET_B)[i % 2],
        "Mois": f"2024-{1 + i % 12:02d}",
        "Code opération": f"OP-{i % 7}",
        "N° marché": f"M-{i % 5}",
        "N° lot": str(i % 3) if i % 4 else "",
        "SIRET donneur d'ordre": SIRET_C,
        "Type de donneur d'ordre": ("État", "Bailleur social", "collectivite territoriale")[i % 3],
        "SIRET employeur": SIRET_D,
        "Type d'employeur": ("ETTI", "Entreprise", "GEIQ")[i % 3],
        "ID participant": f"P-{i:05d}",
        "Public prioritaire": ("DELD|BRSA", "", "Jeune -26 ans")[i % 3],
        "Modalité": ("CDI", "Intérim", "CDD")[i % 3],
        "Heures réalisées": f"{i % 150},5",
        "Heures de formation": str(i % 4),
        "Sexe": "FH"[i % 2],
        "Année de naissance": str(1960 + i % 40),
    }
    values.update(changes)
    return [values[h] for h in HEURES]


def write_csv(
    path: Path,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    separator: str = ";",
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> Path:
    """A CSV written with the csv module (values holding the separator are quoted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator=newline)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[object]]]) -> Path:
    """A workbook with one sheet per entry; each row a list of cells from column A.

    str cells are written as text (even "12,5"), int/float as numbers, date/datetime as real
    date cells, bool as booleans, None as nothing.
    """
    workbook = xlsxwriter.Workbook(str(path))
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(r, c, value)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, value, date_format)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))
    workbook.close()
    return path


def rezip(
    data: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    add: Sequence[tuple[str, bytes]] = (),
    drop: Sequence[str] = (),
) -> bytes:
    """The zip (workbook) ``data`` with members replaced, added or dropped; every member dated
    alike, so that the same changes give the same bytes."""
    replace = replace or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        members = [(i.filename, None) for i in source.infolist() if i.filename not in drop]
        for name, body in [*members, *add]:
            if body is None:
                body = replace[name] if name in replace else source.read(name)
            member = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            target.writestr(member, body, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
