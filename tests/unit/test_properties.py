"""Properties of reading and typing, over random inputs (hypothesis; contract §3).

Each property writes a value in one of the forms the contract allows (or a form it refuses)
and reads it back through the public functions: a random table written as a CSV with a random
separator, encoding, decimal mark, header spelling and column order reads back to the same
values; numbers, amounts, dates, months and SIRETs come back exactly, whatever their form, in
a text or in a typed spreadsheet cell. tests/unit/test_normalize.py and test_identifiers.py
hold the simpler per-form properties; these are the ones they do not cover.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import xlsxwriter
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.contract_files import luhn_digit, luhn_ok

from clauses.check.normalize import normalize
from clauses.check.values import (
    INTEGER_LIMIT,
    parse_amount_cents,
    parse_date,
    parse_integer,
    parse_month,
    parse_number,
    parse_siret,
)
from clauses.contract.identifiers import normalize_siret, siret_is_valid
from clauses.contract.kinds import KINDS, Kind
from clauses.read.files import read_file

KEY = b"property-test-key"
SOME = settings(max_examples=150, deadline=None)
FILES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOUSANDS = st.sampled_from(["", " ", "\u00a0", "\u202f"])
DECIMAL_MARK = st.sampled_from([",", "."])
INT64 = 2**63 - 1
LA_POSTE_SIREN = "356000000"


def written(number: Decimal, thousands: str, mark: str, *, plus: bool = False) -> str:
    """`number` as a person or a spreadsheet export writes it (contract §3)."""
    sign = "-" if number < 0 else ("+" if plus else "")
    integer, _, fraction = f"{abs(number):f}".partition(".")
    groups = []
    while integer:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    return sign + thousands.join(groups) + (mark + fraction if fraction else "")


def one(parse, text: object) -> object:  # type: ignore[no-untyped-def]
    return parse(pd.Series([text], dtype=object)).iloc[0]


# --------------------------------------------------------------------------------------------
# Numbers and amounts
# --------------------------------------------------------------------------------------------

big_decimals = st.decimals(
    min_value=-(10**15), max_value=10**15, places=6, allow_nan=False, allow_infinity=False
)


@SOME
@given(
    st.lists(
        st.tuples(big_decimals, THOUSANDS, DECIMAL_MARK, st.booleans()), min_size=1, max_size=30
    ),
    st.randoms(use_true_random=False),
)
def test_a_column_of_numbers_parses_like_each_number_alone(values, random) -> None:  # type: ignore[no-untyped-def]
    """Parsing works once per distinct text and spreads the results back: a column (repeated
    texts, any index) gives each row the value of its own text."""
    texts = [(" " if pad else "") + written(n, t, m, plus=n > 0 and pad) for n, t, m, pad in values]
    texts += random.sample(texts, len(texts) // 2)  # repeats
    index = [random.randrange(5) for _ in texts]  # a non-unique index
    column = pd.Series(texts, index=index, dtype=object)
    parsed = parse_number(column)
    assert parsed.index.tolist() == index
    expected = [
        float(
            Decimal(
                t.strip()
                .replace("\u00a0", "")
                .replace("\u202f", "")
                .replace(" ", "")
                .replace(",", ".")
            )
        )
        for t in texts
    ]
    assert parsed.tolist() == expected
    assert parsed.tolist() == [one(parse_number, t) for t in texts]


@SOME
@given(st.integers(1000, 10**12), st.integers(0, 99), st.sampled_from([".", ","]))
def test_a_point_or_comma_between_thousands_is_never_misread(
    integer: int, cents: int, mark: str
) -> None:
    """Only spaces separate thousands (contract §3): "1.234,56", "1.234.567" or "1,234.56"
    are refused, never read as another number."""
    other = "," if mark == "." else "."
    grouped = written(Decimal(integer), mark, other)  # thousands by `mark`
    assert pd.isna(one(parse_number, f"{grouped}{other}{cents:02d}"))
    if integer >= 10**6:  # two groups or more: not a decimal number either
        assert pd.isna(one(parse_number, grouped))
        assert pd.isna(one(parse_amount_cents, grouped))


@SOME
@given(st.integers(1, 10**9), st.integers(1, 5).filter(lambda n: n != 3), THOUSANDS.filter(bool))
def test_groups_of_other_than_three_digits_are_refused(head: int, width: int, space: str) -> None:
    text = f"{head}{space}{'7' * width}"
    assert pd.isna(one(parse_number, text))
    assert pd.isna(one(parse_integer, text))


@SOME
@given(
    st.integers(-(10**17), 10**17),
    THOUSANDS,
    DECIMAL_MARK,
    st.sampled_from(["", "€", " €", "\u00a0€"]),
)
def test_amounts_to_the_cent_are_exact_beyond_float_precision(
    cents: int, thousands: str, mark: str, euro: str
) -> None:
    """Euros with 2 decimals give their cents exactly, even where a float would not (beyond
    2**53 cents)."""
    text = written(Decimal(cents) / 100, thousands, mark) + euro
    assert one(parse_amount_cents, text) == cents


@SOME
@given(
    st.decimals(
        min_value=-(10**13), max_value=10**13, places=5, allow_nan=False, allow_infinity=False
    ),
    THOUSANDS,
    DECIMAL_MARK,
)
def test_amounts_round_half_up_on_their_exact_digits(
    amount: Decimal, thousands: str, mark: str
) -> None:
    expected = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert one(parse_amount_cents, written(amount, thousands, mark)) == expected


@SOME
@given(st.integers(INT64 // 100 + 1, 10**20), DECIMAL_MARK)
def test_amounts_out_of_the_warehouse_range_are_refused(euros: int, mark: str) -> None:
    assert pd.isna(one(parse_amount_cents, f"{euros}{mark}00"))


@SOME
@given(st.integers(-INTEGER_LIMIT, INTEGER_LIMIT), st.integers(1, 9), st.integers(1, 4), THOUSANDS)
def test_integers_refuse_a_fraction(number: int, digit: int, zeros: int, thousands: str) -> None:
    base = written(Decimal(number), thousands, ",")
    assert one(parse_integer, f"{base},{'0' * zeros}") == number
    assert pd.isna(one(parse_integer, f"{base},{'0' * (zeros - 1)}{digit}"))


@SOME
@given(
    st.one_of(st.integers(INTEGER_LIMIT + 1, 10**20), st.integers(-(10**20), -INTEGER_LIMIT - 1)),
    THOUSANDS,
)
def test_integers_out_of_the_warehouse_range_are_refused(number: int, thousands: str) -> None:
    """Beyond a 32-bit INTEGER (an N° avenant of 3 000 000 000): an invalid value of the file,
    which PostgreSQL would otherwise refuse for the whole load."""
    assert pd.isna(one(parse_integer, written(Decimal(number), thousands, ",")))
    assert one(parse_integer, written(Decimal(INTEGER_LIMIT), thousands, ",")) == INTEGER_LIMIT


# --------------------------------------------------------------------------------------------
# Dates and months, in every form of contract §3
# --------------------------------------------------------------------------------------------

calendar = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))


def date_forms(day: dt.date, pad_day: bool, pad_month: bool, time: str) -> list[str]:
    d = f"{day.day:02d}" if pad_day else str(day.day)
    m = f"{day.month:02d}" if pad_month else str(day.month)
    return [f"{d}/{m}/{day.year:04d}{time}", f"{day.year:04d}-{m}-{d}{time}"]


@SOME
@given(calendar, st.booleans(), st.booleans(), st.sampled_from(["", " 00:00:00", "T23:59:59.5"]))
def test_every_written_date_form_round_trips(
    day: dt.date, pad_day: bool, pad_month: bool, time: str
) -> None:
    forms = date_forms(day, pad_day, pad_month, time)
    assert parse_date(pd.Series(forms)).tolist() == [day, day]
    month = f"{day.year:04d}-{day.month:02d}"
    m = f"{day.month:02d}" if pad_month else str(day.month)
    months = [*forms, f"{day.year:04d}-{m}", f"{m}/{day.year:04d}"]
    assert parse_month(pd.Series(months)).tolist() == [month] * 4


@SOME
@given(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99), st.booleans())
def test_a_date_is_read_only_when_it_exists(year: int, month: int, day: int, iso: bool) -> None:
    """Any day/month/year triple: a date when it is a real calendar day of 1990-2100, else
    refused (31/02, month 13, year 0202...)."""
    text = f"{year:04d}-{month:02d}-{day:02d}" if iso else f"{day:02d}/{month:02d}/{year:04d}"
    try:
        real = dt.date(year, month, day) if 1990 <= year <= 2100 else None
    except ValueError:
        real = None
    assert one(parse_date, text) == real


# --------------------------------------------------------------------------------------------
# SIRET
# --------------------------------------------------------------------------------------------


@st.composite
def sirets(draw: st.DrawFn) -> str:
    siren8 = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    siren = siren8 + luhn_digit(siren8)
    assume(siren != LA_POSTE_SIREN)  # La Poste's rule is not Luhn's
    body = siren + draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    siret = body + luhn_digit(body)
    # As a number it keeps 12 digits or more (contract §3: 12-13 digits that lost their zeros).
    assume(len(str(int(siret))) >= 12)
    return siret


@SOME
@given(sirets(), st.integers(0, 13), st.integers(1, 9))
def test_a_siret_with_one_digit_changed_is_refused(siret: str, position: int, shift: int) -> None:
    typo = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    assume(typo[:9] != LA_POSTE_SIREN)  # whose SIRETs follow another rule
    assert parse_siret(pd.Series([siret, typo])).tolist() == [siret, None]


@SOME
@given(sirets(), st.integers(0, 12))
def test_a_siret_with_two_neighbours_swapped_is_refused(siret: str, position: int) -> None:
    a, b = siret[position], siret[position + 1]
    assume(a != b and {a, b} != {"0", "9"})  # the one swap Luhn cannot see
    swapped = siret[:position] + b + a + siret[position + 2 :]
    assume(swapped[:9] != LA_POSTE_SIREN)
    assert not luhn_ok(swapped)
    assert parse_siret(pd.Series([swapped])).tolist() == [None]


@SOME
@given(
    sirets(),
    st.sampled_from(["text", "int", "float", "float text", "comma text"]),
    st.lists(st.tuples(st.integers(0, 14), st.sampled_from([" ", "\u00a0", "\u202f"])), max_size=4),
)
def test_a_siret_comes_back_from_any_storage(siret: str, storage: str, spaces) -> None:  # type: ignore[no-untyped-def]
    """As text with spaces, or as a number that lost its leading zeros (an int, a float, their
    text, with a decimal point or comma): the same 14 digits, valid."""
    number = int(siret)
    value: object = {
        "text": siret,
        "int": number,
        "float": float(number),
        "float text": f"{number}.0",
        "comma text": f"{number},0",
    }[storage]
    if isinstance(value, str):
        for position, space in spaces:
            value = value[:position] + space + value[position:]
    assert parse_siret(pd.Series([value], dtype=object)).tolist() == [siret]
    assert siret_is_valid(normalize_siret(pd.Series([value], dtype=object))).tolist() == [True]


# --------------------------------------------------------------------------------------------
# The CSV reader: a random table written in any allowed way reads back the same
# --------------------------------------------------------------------------------------------

HEURES = KINDS[Kind.HEURES].columns
# Text a CSV cell may hold, read back as written. Windows-1252 text keeps to ASCII and accented
# letters (code points >= 0xC0), as French text does: then no Windows-1252 file is also valid
# UTF-8, and the reader's choice of encoding (contract §3) is never in doubt.
UNICODE_TEXT = st.characters(codec="utf-8", categories=["L", "N", "P", "S"])
CP1252_TEXT = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "'\"-_.,;:!?()/&%+*=@#|"
    "àâäçéèêëîïôöùûüÿÀÂÄÇÉÈÊËÎÏÔÖÙÛÜ"
)


@st.composite
def cells(draw: st.DrawFn, alphabet: st.SearchStrategy[str], required: bool) -> str:
    """A cell: words separated by single spaces, sometimes a line break; maybe empty."""
    words = draw(
        st.lists(st.text(alphabet, min_size=1, max_size=6), min_size=int(required), max_size=3)
    )
    separators = draw(
        st.lists(st.sampled_from([" ", " ", "\n"]), min_size=len(words), max_size=len(words))
    )
    text = "".join(w + s for w, s in zip(words, separators, strict=True))
    return text.strip(" \n")


@st.composite
def header_spellings(draw: st.DrawFn, header: str) -> str:
    """The header as someone may have typed it (contract §3: case, accents, spaces, separators)."""
    if draw(st.booleans()):
        header = "".join(
            c for c in unicodedata.normalize("NFKD", header) if not unicodedata.combining(c)
        )
    header = draw(st.sampled_from([header, header.upper(), header.lower(), header.title()]))
    separator = draw(st.sampled_from([" ", "_", "-", "."]))
    header = header.replace(" ", separator).replace("'", draw(st.sampled_from(["'", " ", "_"])))
    return draw(st.sampled_from(["", " "])) + header + draw(st.sampled_from(["", "  "]))


@st.composite
def csv_tables(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    alphabet = CP1252_TEXT if encoding == "cp1252" else UNICODE_TEXT
    columns = draw(st.permutations(HEURES))
    n_rows = draw(st.integers(0, 6))
    rows = []
    for _ in range(n_rows):
        row = {}
        for column in columns:
            if column.name == "heures_realisees":
                hours = draw(st.decimals(min_value=0, max_value=99_999, places=2))
                row[column.name] = written(
                    hours,
                    draw(
                        THOUSANDS if encoding != "cp1252" else st.sampled_from(["", " ", "\u00a0"])
                    ),
                    draw(DECIMAL_MARK),
                )
            else:  # the participant id is never empty: no row is blank
                row[column.name] = draw(cells(alphabet, column.name == "id_participant"))
        rows.append(row)
    return {
        "encoding": encoding,
        "separator": draw(st.sampled_from([";", ",", "\t"])),
        "newline": draw(st.sampled_from(["\r\n", "\n"])),
        "headers": [draw(header_spellings(c.header)) for c in columns],
        "columns": columns,
        "rows": rows,
    }


@FILES
@given(csv_tables())
def test_a_random_table_written_as_csv_reads_back_the_same(table) -> None:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=table["separator"], lineterminator=table["newline"])
    writer.writerow(table["headers"])
    writer.writerows([[row[c.name] for c in table["columns"]] for row in table["rows"]])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_bytes(buffer.getvalue().encode(table["encoding"]))
        result = read_file(path)
    (read,) = result.tables
    assert read.kind is Kind.HEURES and not read.missing_columns and not read.unknown_columns
    assert result.separator == table["separator"]
    assert result.encoding in (table["encoding"], "utf-8")  # ASCII-only cp1252 is UTF-8 too
    frame = read.frame
    assert len(frame) == len(table["rows"])
    for column in table["columns"]:
        assert frame[column.name].tolist() == [r[column.name] or None for r in table["rows"]], (
            column.header
        )
    # Each row is numbered by the line its record starts on (the header is line 1).
    starts, line = [], 2
    for row in table["rows"]:
        starts.append(line)
        line += 1 + sum(value.count("\n") for value in row.values())
    assert frame["_row"].tolist() == starts
    typed = normalize(read, pseudonym_key=KEY)
    assert typed["heures_realisees"].tolist() == [
        float(
            Decimal(
                r["heures_realisees"]
                .replace("\u00a0", "")
                .replace("\u202f", "")
                .replace(" ", "")
                .replace(",", ".")
            )
        )
        for r in table["rows"]
    ]


# --------------------------------------------------------------------------------------------
# The XLSX reader: typed cells and texts read back as the same values
# --------------------------------------------------------------------------------------------


@FILES
@given(
    st.lists(
        st.tuples(
            sirets(),
            calendar,
            st.decimals(min_value=0, max_value=744, places=2),
            st.sampled_from(["number cell", "text, point", "text, comma"]),
            st.sampled_from(
                ["date cell", "datetime cell", "JJ/MM/AAAA", "AAAA-MM-JJ", "AAAA-MM", "MM/AAAA"]
            ),
            st.sampled_from(["number cell", "text cell", "spaced text"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_typed_and_text_cells_of_a_workbook_read_back_the_same(rows) -> None:  # type: ignore[no-untyped-def]
    """A SIRET stored as a number (leading zeros lost) or as text with spaces, a month as a
    date cell or as text in any allowed form, hours as a number cell or a text with a comma:
    the same SIRET, month and hours (contract §3)."""
    headers = [c.header for c in HEURES]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "classeur.xlsx"
        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet("Heures")
        date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
        for c, header in enumerate(headers):
            sheet.write_string(0, c, header)
        for r, (siret, day, hours, hours_as, month_as, siret_as) in enumerate(rows, start=1):
            cells: dict[str, object] = {
                "Code opération": "OP",
                "N° marché": "M",
                "ID participant": f"P{r}",
                "SIRET porteur": {
                    "number cell": int(siret),
                    "text cell": siret,
                    "spaced text": f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}",
                }[siret_as],
                "Heures réalisées": {
                    "number cell": float(hours),
                    "text, point": f"{hours:f}",
                    "text, comma": f"{hours:f}".replace(".", ","),
                }[hours_as],
                "Mois": {
                    "date cell": day,
                    "datetime cell": dt.datetime.combine(day, dt.time(13, 45)),
                    "JJ/MM/AAAA": day.strftime("%d/%m/%Y"),
                    "AAAA-MM-JJ": day.isoformat(),
                    "AAAA-MM": day.strftime("%Y-%m"),
                    "MM/AAAA": day.strftime("%m/%Y"),
                }[month_as],
            }
            for c, header in enumerate(headers):
                value = cells.get(header)
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, c, value, date_format)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                elif value is not None:
                    sheet.write_string(r, c, value)
        workbook.close()
        (read,) = read_file(path).tables
    typed = normalize(read, pseudonym_key=KEY)
    assert typed["siret_porteur"].tolist() == [r[0] for r in rows]
    assert typed["mois"].tolist() == [f"{r[1].year:04d}-{r[1].month:02d}" for r in rows]
    assert typed["heures_realisees"].tolist() == [float(r[2]) for r in rows]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_cell_reads_as_its_shortest_digits_never_in_scientific_notation(
    value: float,
) -> None:
    """A float cell's text: the integer when whole, else the shortest digits that read back
    as the same float, positional (repr's digits where repr is positional)."""
    import numpy as np

    from clauses.read.sheets import _text_array, cell_text

    text = cell_text(value)
    assert text is not None and "e" not in text and float(text) == value
    if not value.is_integer():
        assert text == np.format_float_positional(value, trim="-")
    # the column reader gives the same text, formatted once per distinct value
    assert _text_array(["en-tête", value, value, True, 1]).to_pylist() == [
        "en-tête",
        text,
        text,
        "VRAI",
        "1",
    ]
