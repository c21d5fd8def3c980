"""The readers alone, fuzzed (hypothesis; contract §3-4): nothing but FileRefused escapes.

Whatever the bytes, under a .csv or a .xlsx name, `open_file` either refuses the file with a
French reason (`FileRefused`) or opens it, and then every table's batches can be read to the end
(twice, with the same rows), each holding text arrays as long as its rows, or again raise
`FileRefused` (a CSV whose quotes break further down, a sheet calamine cannot parse). Any other
exception is a bug: in a run it would be an internal error, or fail the file's whole region.

The bytes are arbitrary, or valid CSV and XLSX files mutated: bytes flipped, inserted, deleted
or repeated, the file cut, its line breaks removed, a run of more than 131072 bytes without a
line break inserted (longer than the csv module's field limit), a workbook's member mutated,
dropped or replaced inside a well-formed zip.

Also here: SIRETs that lost any count of leading zeros (1 to 13 digits, as text or as a number)
are padded back to 14 digits and found valid (contract 1.2, §3).

CLAUSES_FUZZ_EXAMPLES sets the number of examples of each fuzzing test (default 300).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import xlsxwriter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.contract_files import HEURES, SIRET_A, SIRET_B, heures_row, luhn_ok, make_siret, rezip

from clauses.contract.identifiers import normalize_siret, siret_is_valid
from clauses.contract.kinds import KINDS, Kind
from clauses.read.files import open_file
from clauses.read.tables import FileRefused

EXAMPLES = int(os.environ.get("CLAUSES_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # the unit tier's autouse guard, harmless
    ],
)
CSV_DEFAULT_FIELD_LIMIT = 131_072  # csv.field_size_limit() of a fresh interpreter
LONG_RUNS = (131_073, 300_000)


# --------------------------------------------------------------------------------------------
# Valid files to start from
# --------------------------------------------------------------------------------------------


def _csv(
    headers: list[str], rows: list[list[str]], separator: str, encoding: str, newline: str
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator=newline)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def _contacts() -> tuple[list[str], list[list[str]]]:
    headers = [c.header for c in KINDS[Kind.CONTACTS].columns]
    rows = [
        [SIRET_A, "2024-05", "12/05/2024", SIRET_B[2:], "État", "Réunion ; bilan"],
        [SIRET_B[2:], "05/2024", "2024-05-13", SIRET_A, "bailleur social", ""],
    ]
    return headers, rows


def _xlsx() -> bytes:
    """A workbook: title rows, typed cells, shared strings, a Total line, a notes sheet."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": dt.datetime(2025, 1, 1)})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet = workbook.add_worksheet("Heures")
    sheet.write_string(0, 0, "Export de l'outil")
    for c, header in enumerate(HEURES):
        sheet.write_string(2, c, header)
    for r in range(3, 7):
        for c, value in enumerate(heures_row(r)):
            if HEURES[c] == "Heures réalisées":
                sheet.write_number(r, c, 10.5 + r)
            elif HEURES[c] == "SIRET porteur" and r % 2:
                sheet.write_number(r, c, int(value))  # lost its leading zeros
            elif HEURES[c] == "Mois":
                sheet.write_datetime(r, c, dt.date(2024, r, 1), date_format)
            elif value:
                sheet.write_string(r, c, value)
    sheet.write_string(7, 0, "Total")
    sheet.write_number(7, 12, 58.0)
    contacts = workbook.add_worksheet("Feuil2")
    headers, rows = _contacts()
    for c, header in enumerate(headers):
        contacts.write_string(0, c, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            contacts.write_string(r, c, value)
    notes = workbook.add_worksheet("Notes")
    notes.write_formula(0, 0, "=1+1", None, 2)
    workbook.close()
    return buffer.getvalue()


_HEURES_ROWS = [heures_row(i) for i in range(4)]
CSV_SEEDS = [
    _csv(HEURES, _HEURES_ROWS, ";", "utf-8", "\r\n"),
    b"\xef\xbb\xbf" + _csv(HEURES, _HEURES_ROWS, "\t", "utf-8", "\n"),
    _csv(HEURES, _HEURES_ROWS, ",", "cp1252", "\r\n"),
    _csv(*_contacts(), ";", "utf-8", "\r\n"),
    _csv(*_contacts(), ",", "cp1252", "\n"),
]
XLSX_SEED = _xlsx()


# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------

Mutation = Callable[[bytes], bytes]
position = st.integers(0, 1 << 20)  # taken modulo the length of what is mutated


def _at(data: bytes, where: int) -> int:
    return where % (len(data) + 1)


mutations: st.SearchStrategy[tuple[str, Any]] = st.one_of(
    st.tuples(st.just("flip"), st.tuples(position, st.integers(1, 255))),
    st.tuples(st.just("insert"), st.tuples(position, st.binary(min_size=1, max_size=32))),
    st.tuples(
        st.just("insert_special"),
        st.tuples(position, st.sampled_from([b'"', b";", b",", b"\t", b"\r", b"\n", b"\x00"])),
    ),
    st.tuples(st.just("delete"), st.tuples(position, st.integers(1, 64))),
    st.tuples(st.just("repeat"), st.tuples(position, st.integers(1, 200), st.integers(2, 50))),
    st.tuples(st.just("truncate"), position),
    st.tuples(st.just("one_line"), st.just(None)),
    st.tuples(
        st.just("long_run"),
        st.tuples(
            position, st.sampled_from([b"X", b"\xc3\xa9", b'"', b" "]), st.sampled_from(LONG_RUNS)
        ),
    ),
)


def mutate(data: bytes, mutation: tuple[str, Any]) -> bytes:
    name, args = mutation
    if name == "flip":
        where, mask = args
        if not data:
            return data
        at = where % len(data)
        return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]
    if name in ("insert", "insert_special"):
        where, junk = args
        at = _at(data, where)
        return data[:at] + junk + data[at:]
    if name == "delete":
        where, length = args
        at = _at(data, where)
        return data[:at] + data[at + length :]
    if name == "repeat":
        where, length, times = args
        at = _at(data, where)
        return data[:at] + data[at : at + length] * times + data[at + length :]
    if name == "truncate":
        return data[: _at(data, args)]
    if name == "one_line":  # every line break removed: the whole file on one line
        return data.replace(b"\r", b"").replace(b"\n", b"")
    if name == "long_run":  # more than the csv module's field limit, and no line break
        where, unit, length = args
        at = _at(data, where)
        return data[:at] + unit * length + data[at:]
    raise AssertionError(name)


XLSX_MEMBERS = sorted(zipfile.ZipFile(io.BytesIO(XLSX_SEED)).namelist())


# --------------------------------------------------------------------------------------------
# The property
# --------------------------------------------------------------------------------------------


def read_everything(path: Path) -> None:
    """Open ``path`` and read every table's batches to the end, twice: nothing but
    FileRefused may escape, and what is read is text."""
    try:
        opened = open_file(path)
        assert opened.tables, "a file opened without a table"
        for table in opened.tables:
            counts = []
            for _ in range(2):
                rows = 0
                for batch in table.batches():
                    for name, values in batch.columns.items():
                        assert pa.types.is_string(values.type), (name, values.type)
                        assert len(values) == len(batch.rows), name
                    rows += len(batch)
                counts.append(rows)
            assert counts[0] == counts[1], counts
            assert isinstance(table.unknown_columns, list)
    except FileRefused as refused:
        assert refused.reason.strip(), "a refusal without a reason"


def read_as_both(data: bytes, stem: str = "fichier") -> None:
    """``data`` read under a .csv name and under a .xlsx name, with the interpreter's
    default csv field limit (another test may have raised it: it is global to the process)."""
    previous = csv.field_size_limit(CSV_DEFAULT_FIELD_LIMIT)
    try:
        with tempfile.TemporaryDirectory(prefix="clauses-fuzz-") as folder:
            for suffix in (".csv", ".xlsx"):
                path = Path(folder) / f"{stem}{suffix}"
                path.write_bytes(data)
                read_everything(path)
    finally:
        csv.field_size_limit(previous)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    read_as_both(data)


LONG_LINES = {
    "20 MB, no line break": lambda: b"X" * (20 << 20),
    "one line of 140,000 bytes": lambda: b"X" * 140_000,
    "a header field of 140,000 characters": lambda: (
        b"SIRET porteur;Mois;ID participant;Heures r\xc3\xa9alis\xc3\xa9es;"
        + b"Y" * 140_000
        + b"\r\n"
        + CSV_SEEDS[0].split(b"\r\n", 1)[1]
    ),
    "a valid file, then a line of 140,000 bytes": lambda: CSV_SEEDS[0] + b"Z" * 140_000,
    "a value of 140,000 characters in a row": lambda: CSV_SEEDS[0].replace(
        b"OP-1", b"OP-" + b"1" * 140_000, 1
    ),
}


@pytest.mark.parametrize("name", sorted(LONG_LINES))
def test_lines_and_values_longer_than_the_csv_field_limit(name: str) -> None:
    """The fixed cases of the fuzzing above that the csv module's field limit (131072
    characters) would make fail: read or refused, never a csv.Error."""
    read_as_both(LONG_LINES[name]())


@FUZZ
@given(st.sampled_from(range(len(CSV_SEEDS))), st.lists(mutations, min_size=1, max_size=4))
def test_mutated_csv_is_read_or_refused(seed: int, changes: list[tuple[str, Any]]) -> None:
    data = CSV_SEEDS[seed]
    for change in changes:
        data = mutate(data, change)
    read_as_both(data)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("bytes"), mutations),
            st.tuples(st.just("member"), st.tuples(st.sampled_from(XLSX_MEMBERS), mutations)),
            st.tuples(st.just("drop"), st.sampled_from(XLSX_MEMBERS)),
            st.tuples(
                st.just("replace"),
                st.tuples(st.sampled_from(XLSX_MEMBERS), st.binary(max_size=256)),
            ),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_workbook_is_read_or_refused(changes: list[tuple[str, Any]]) -> None:
    data = XLSX_SEED
    for how, what in changes:
        if how == "bytes":
            data = mutate(data, what)
            continue
        try:  # a change inside the archive needs an archive zipfile can still read
            members = zipfile.ZipFile(io.BytesIO(data))
            if how == "member":
                name, change = what
                data = rezip(data, replace={name: mutate(members.read(name), change)})
            elif how == "drop":
                data = rezip(data, drop=[what])
            else:
                name, body = what
                data = rezip(data, replace={name: body})
        except (zipfile.BadZipFile, KeyError, EOFError, OSError, ValueError, zlib.error):
            continue  # bytes damaged by an earlier change: only byte changes apply
    read_as_both(data)


def test_the_seeds_are_valid_files() -> None:
    """The files mutated above are read whole, with all their rows (else the fuzzing would
    start from refusals)."""
    with tempfile.TemporaryDirectory(prefix="clauses-fuzz-") as folder:
        for index, data in enumerate([*CSV_SEEDS, XLSX_SEED]):
            suffix = ".xlsx" if data is XLSX_SEED else ".csv"
            path = Path(folder) / f"seed{index}{suffix}"
            path.write_bytes(data)
            opened = open_file(path)
            rows = {t.kind: sum(len(b) for b in t.batches()) for t in opened.tables}
            if data is XLSX_SEED:
                assert rows == {Kind.HEURES: 4, Kind.CONTACTS: 2}, rows
            else:
                assert sum(rows.values()) in (2, 4), rows


# --------------------------------------------------------------------------------------------
# SIRETs that lost leading zeros (contract 1.2, §3)
# --------------------------------------------------------------------------------------------


@st.composite
def sirets_with_leading_zeros(draw: st.DrawFn) -> str:
    zeros = draw(st.integers(1, 8))
    rest = draw(st.text(alphabet="0123456789", min_size=8 - zeros, max_size=8 - zeros))
    if rest:
        rest = draw(st.sampled_from("123456789")) + rest[1:]
    nic = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    return make_siret("0" * zeros + rest, nic)


@given(
    sirets_with_leading_zeros(),
    st.integers(1, 13),
    st.sampled_from(["text", "text .0", "float", "int", "float series"]),
)
@example("00097715717415", 3, "text")  # the contract's example: 97715717415
@example("00097715717415", 3, "float")
@example("00000000000018", 12, "text")
def test_siret_that_lost_its_leading_zeros_is_padded_back(siret: str, lost: int, form: str) -> None:
    assert luhn_ok(siret) and luhn_ok(siret[:9])
    zeros = len(siret) - len(siret.lstrip("0"))
    lost = min(lost, zeros, 13)
    digits = siret[lost:]  # 1 to 13 digits, as a spreadsheet leaves it
    value: Any = {
        "text": digits,
        "text .0": digits + ".0",
        "float": float(digits),
        "int": int(digits),
        "float series": float(digits),
    }[form]
    series = (
        pd.Series([value], dtype="float64")
        if form == "float series"
        else pd.Series([value, None], dtype=object)
    )
    normalized = normalize_siret(series)
    assert normalized.iloc[0] == siret, (value, normalized.iloc[0])
    assert bool(siret_is_valid(normalized).iloc[0]), normalized.iloc[0]
    if form != "float series":
        assert normalized.iloc[1] is None


@pytest.mark.parametrize("digits", range(9, 14))
def test_the_contract_example_at_every_length(digits: int) -> None:
    """9 to 13 digits of text or number, each a valid SIRET once padded to 14."""
    siret = make_siret("0" * (14 - digits) + "9" * (digits - 6), "0001")
    assert siret.startswith("0" * (14 - digits))
    stripped = siret[14 - digits :]
    series = pd.Series([stripped, float(stripped), int(stripped), f"{stripped}.0"], dtype=object)
    normalized = normalize_siret(series)
    assert list(normalized) == [siret] * 4, list(normalized)
    assert siret_is_valid(normalized).all()
