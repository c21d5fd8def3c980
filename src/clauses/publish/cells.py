"""The tables of an extract and how one value becomes a cell (contract §7).

A `Table` is one sheet of the workbook and one CSV file: French headers, a `Fmt` per column,
rows of Python values. Numbers are rounded half up on their decimal representation to the
precision of their column (2 decimals for amounts and DEC2, 4 for DEC4 and percentages), the
same value in the workbook and in the CSV, so the two files of one extract never disagree. A
text that a spreadsheet would read as a formula is neutralised in the CSV; the workbook writes
every text as a string cell.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

__all__ = [
    "XLSX_NUMBER_FORMATS",
    "Fmt",
    "Table",
    "as_date",
    "as_integer",
    "as_text",
    "check_row",
    "format_csv_value",
    "is_missing",
    "neutralize_formula",
    "rounded",
]


class Fmt(StrEnum):
    """How a column is written, in the workbook and in the CSV."""

    TEXT = "text"
    INT = "int"  # an integer count
    DEC2 = "dec2"  # a number with 2 decimals (hours...)
    DEC4 = "dec4"  # a number with 4 decimals (FTE, fractions, per-FTE values)
    EUR = "eur"  # an amount in euros, 2 decimals
    DATE = "date"
    PERCENT = "percent"  # a fraction (0.85 = 85 %), 4 decimals in the CSV


#: Excel number formats (Excel shows the separators of the user's locale: "1 234,50 €").
XLSX_NUMBER_FORMATS: dict[Fmt, str] = {
    Fmt.INT: "#,##0",
    Fmt.DEC2: "#,##0.00",
    Fmt.DEC4: "0.0000",
    # The euro sign is quoted: a literal that every spreadsheet reads the same way.
    Fmt.EUR: '#,##0.00 "€"',
    Fmt.DATE: "dd/mm/yyyy",
    Fmt.PERCENT: "0.0%",
}

_QUANTUM: dict[Fmt, Decimal] = {
    Fmt.DEC2: Decimal("0.01"),
    Fmt.EUR: Decimal("0.01"),
    Fmt.DEC4: Decimal("0.0001"),
    Fmt.PERCENT: Decimal("0.0001"),
}

# OWASP CSV injection: characters that make a spreadsheet read a cell as a formula.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """One table of an extract: a sheet of the workbook and a CSV file.

    ``rows`` hold Python values: ``str``, ``int``, ``float``, ``decimal.Decimal``,
    ``datetime.date`` or ``None`` (an empty cell: undefined, or not evaluated). A float NaN is
    also written as an empty cell.
    """

    name: str  # file stem of the CSV, e.g. "conventions"
    sheet: str  # sheet title, e.g. "Conventions"
    columns: list[tuple[str, Fmt]]  # French header and format, in order
    rows: list[tuple[Any, ...]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def neutralize_formula(text: str) -> str:
    """Return ``text`` prefixed with ``'`` when a spreadsheet would read it as a formula.

    A text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
    with a single quote (OWASP guidance on CSV injection); any other text is returned unchanged.
    """
    if text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


def is_missing(value: object) -> bool:
    """None, or a float/Decimal NaN (how pandas spells a missing number)."""
    if value is None:
        return True
    if type(value) is str or type(value) is int:  # most cells: never missing
        return False
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, Decimal):
        return value.is_nan()
    return False


def _to_decimal(value: object, fmt: Fmt) -> Decimal:
    """A real number as a Decimal of its shortest decimal representation."""
    # Decimal is not a numbers.Real: it is accepted explicitly.
    if isinstance(value, bool) or not isinstance(value, Decimal | numbers.Real):
        raise TypeError(f"{fmt.value} column: expected a number, got {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, numbers.Integral):
        result = Decimal(int(value))
    else:
        # repr() gives the shortest string that round-trips: 2.675 -> "2.675", not
        # 2.67499999999999982236431605997495353221893310546875.
        try:
            result = Decimal(repr(float(value)))
        except InvalidOperation as exc:  # pragma: no cover - repr of a float always parses
            raise ValueError(f"{fmt.value} column: cannot read {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"{fmt.value} column: {value!r} is not a finite number")
    return result


def rounded(value: object, fmt: Fmt) -> Decimal:
    """The value rounded half up to the precision of ``fmt`` (no negative zero)."""
    quantized = _to_decimal(value, fmt).quantize(_QUANTUM[fmt], rounding=ROUND_HALF_UP)
    return quantized.copy_abs() if quantized.is_zero() else quantized


def as_integer(value: object) -> int:
    """An integral value as int; a non-integral one is an error (a count is never 2.5)."""
    if type(value) is int:  # the common case, as the database gives it (a bool is refused)
        return value
    number = _to_decimal(value, Fmt.INT)
    if number != number.to_integral_value():
        raise ValueError(f"int column: {value!r} is not an integer")
    return int(number)


def as_date(value: object) -> date:
    """A DATE cell's value as a date (a datetime gives its day)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"date column: expected a date, got {type(value).__name__}")


def as_text(value: object) -> str:
    """A TEXT cell's value; an integer (e.g. a code read as a number) gives its digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    raise TypeError(f"text column: expected a str, got {type(value).__name__}")


def format_csv_value(value: object, fmt: Fmt) -> str:
    """Format one value for the CSV of an extract (contract §7).

    ``None`` (or NaN) gives an empty cell. TEXT is neutralised against formulas; INT is an
    integer; DEC2 and EUR have exactly 2 decimals, DEC4 and PERCENT (a fraction) exactly 4,
    rounded half up on the decimal representation, with a decimal comma and no thousands
    separator; DATE is ``AAAA-MM-JJ``. Raises TypeError or ValueError for a value that does not
    fit its column.
    """
    if is_missing(value):
        return ""
    if fmt is Fmt.TEXT:
        return neutralize_formula(as_text(value))
    if fmt is Fmt.INT:
        return str(as_integer(value))
    if fmt is Fmt.DATE:
        return as_date(value).isoformat()
    return format(rounded(value, fmt), "f").replace(".", ",")


def check_row(table: Table, index: int, row: Sequence[Any]) -> None:
    """Refuse row ``index`` of ``table`` when it does not hold one value per column."""
    if len(row) != len(table.columns):
        raise ValueError(
            f"table {table.name!r}, row {index + 1}: {len(row)} values for "
            f"{len(table.columns)} columns"
        )


# fichiers.csv (contract §7), and the first columns of decp_fichiers.csv (§8.4)
FILE_COLUMNS = [
    ("Fichier", Fmt.TEXT),
    ("SHA-256", Fmt.TEXT),
    ("Date de réception", Fmt.DATE),
    ("Type", Fmt.TEXT),
    ("Statut", Fmt.TEXT),
    ("Lignes", Fmt.INT),
    ("Motif", Fmt.TEXT),
]
