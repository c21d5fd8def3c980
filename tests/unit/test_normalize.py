"""Typing of text tables (contract §2-3): values, original texts, errors, derived columns."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.contract_files import SIRET_A, SIRET_B, SIRET_C

from clauses.check.normalize import normalize
from clauses.check.values import (
    parse_amount_cents,
    parse_date,
    parse_integer,
    parse_month,
    parse_number,
)
from clauses.contract.identifiers import pseudonymize
from clauses.contract.kinds import KINDS, MODALITE, PUBLIC_PRIORITAIRE, Kind
from clauses.read.tables import SheetTable

KEY = b"k"


def table(kind: Kind, columns: dict[str, list[str | None]]) -> SheetTable:
    n = len(next(iter(columns.values()))) if columns else 0
    frame = pd.DataFrame(
        {
            "_row": pd.Series(range(2, n + 2), dtype="int64"),
            **{name: pd.Series(values, dtype=object) for name, values in columns.items()},
        }
    )
    return SheetTable(kind, None, frame, [], [], [])


def one_column(kind: Kind, name: str, values: list[str | None]) -> pd.DataFrame:
    return normalize(table(kind, {name: values}), pseudonym_key=KEY)


# ---- Shape ----------------------------------------------------------------------------------


def test_every_contract_column_is_present_even_when_absent_from_the_file() -> None:
    result = normalize(
        table(Kind.CONTACTS, {"siret_porteur": [SIRET_A]}), pseudonym_key=KEY, region="11"
    )
    expected = ["_row"]
    for column in KINDS[Kind.CONTACTS].columns:
        expected += [column.name, column.name + "__raw", column.name + "__err"]
    assert list(result.columns) == [*expected, "_date_mois", "_duplicate", "_region"]
    assert result["objet"].tolist() == [None] and result["objet__raw"].tolist() == [None]
    assert result["objet__err"].tolist() == [None]
    assert result["_region"].tolist() == ["11"]
    assert result["_row"].tolist() == [2]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        normalize(table(Kind.HEURES, {}), pseudonym_key=b"")
    with pytest.raises(ValueError):
        normalize(table(Kind.HEURES, {}), pseudonym_key=KEY, region="99")


def test_empty_table() -> None:
    result = normalize(table(Kind.HEURES, {"mois": []}), pseudonym_key=KEY)
    assert len(result) == 0 and result["_duplicate"].dtype == bool


# ---- Types ----------------------------------------------------------------------------------


def test_siret() -> None:
    values = ["732 829 320 00074", SIRET_B[2:], f"{SIRET_C}.0", "73282932000075", "abc", None, "  "]
    result = one_column(Kind.HEURES, "siret_employeur", values)
    assert result["siret_employeur"].tolist() == [SIRET_A, SIRET_B, SIRET_C, None, None, None, None]
    assert result["siret_employeur__raw"].tolist() == [*values[:6], None]
    assert result["siret_employeur__err"].tolist() == [
        None,
        None,
        None,
        "73282932000075",
        "abc",
        None,
        None,
    ]


def test_month() -> None:
    values = [
        "2024-03",
        "03/2024",
        "3/2024",
        "05/03/2024",
        "2024-03-31",
        "2024-03-05 00:00:00",
        "2024-13",
        "13/2024",
        "mars 2024",
        "2024-02-30",
    ]
    result = one_column(Kind.HEURES, "mois", values)
    assert result["mois"].tolist() == ["2024-03"] * 6 + [None] * 4
    assert result["mois__err"].tolist() == [None] * 6 + values[6:]


def test_date() -> None:
    values = [
        "05/03/2024",
        "5/3/2024",
        "2024-03-05",
        "2024-03-05 14:30:00",
        "2024-03-05T00:00",
        "31/02/2024",
        "2024/03/05",
        "05-03-2024",
        "05/03/24",
        "45356",
    ]
    result = one_column(Kind.CONTACTS, "date_contact", values)
    assert result["date_contact"].tolist() == [dt.date(2024, 3, 5)] * 5 + [None] * 5
    assert result["date_contact"].dtype == object
    assert result["date_contact__err"].tolist() == [None] * 5 + values[5:]
    assert result["_date_mois"].tolist() == ["2024-03"] * 5 + [None] * 5


def test_partenariats_date_month() -> None:
    result = one_column(Kind.PARTENARIATS, "date_partenariat", ["2024-12-31", None])
    assert result["_date_mois"].tolist() == ["2024-12", None]


def test_number() -> None:
    values = [
        "1 234,50",
        "1234.5",
        "1\u00a0234",
        "1\u202f234,5",
        "-0,5",
        "+7",
        "151,67",
        "0",
        "12 34",
        "1.234,5",
        "1,234.5",
        "1e3",
        "abc",
        "12 h",
        "nan",
        "inf",
    ]
    result = one_column(Kind.HEURES, "heures_realisees", values)
    assert result["heures_realisees"].dtype == "float64"
    assert result["heures_realisees"].tolist()[:8] == [
        1234.5,
        1234.5,
        1234.0,
        1234.5,
        -0.5,
        7.0,
        151.67,
        0.0,
    ]
    assert result["heures_realisees"].iloc[8:].isna().all()
    assert result["heures_realisees__err"].tolist() == [None] * 8 + values[8:]


def test_integer() -> None:
    values = ["2024", "2024.0", "2 024", "1985,0", "2024.5", "deux", None]
    result = one_column(Kind.BILANS, "millesime", values)
    assert str(result["millesime"].dtype) == "Int64"
    assert result["millesime"].tolist()[:4] == [2024, 2024, 2024, 1985]
    assert result["millesime"].iloc[4:].isna().all()
    assert result["millesime__err"].tolist() == [None] * 4 + ["2024.5", "deux", None]


def test_amount() -> None:
    values = ["1 234,505", "1234.5", "0,005", "0,004", "35 000", "12 345,67 €", "1e3", "-1,005"]
    result = one_column(Kind.CONVENTIONS, "cout_total_cents", values)
    assert str(result["cout_total_cents"].dtype) == "Int64"
    assert result["cout_total_cents"].tolist()[:6] == [123451, 123450, 1, 0, 3500000, 1234567]
    assert pd.isna(result["cout_total_cents"].iloc[6])
    assert result["cout_total_cents"].iloc[7] == -101  # typed; the range check is validation's
    assert result["cout_total_cents__err"].tolist() == [None] * 6 + ["1e3", None]


def test_enum() -> None:
    values = [
        "cdi",
        " CDI ",
        "Interim",
        "INTÉRIM",
        "mise a disposition etti",
        "Contrat d\u2019insertion SIAE",
        "CDI temps plein",
        "",
    ]
    result = one_column(Kind.HEURES, "modalite", values)
    assert result["modalite"].tolist() == [
        "CDI",
        "CDI",
        "Intérim",
        "Intérim",
        "Mise à disposition ETTI",
        "Contrat d'insertion SIAE",
        None,
        None,
    ]
    assert result["modalite__err"].tolist() == [None] * 6 + ["CDI temps plein", None]
    assert set(result["modalite"].dropna()) <= set(MODALITE)


def test_enum_list() -> None:
    values = [
        "DELD",
        "brsa, deld",
        "RQTH|DELD|RQTH",
        "jeune -26 ans | résident qpv",
        "DELD|",
        "DELD|inconnu",
        "|",
    ]
    result = one_column(Kind.HEURES, "public_prioritaire", values)
    assert result["public_prioritaire"].tolist() == [
        "DELD",
        "DELD|BRSA",
        "DELD|RQTH",
        "Jeune -26 ans|Résident QPV",
        "DELD",
        None,
        None,
    ]
    assert result["public_prioritaire__err"].tolist() == [None] * 5 + ["DELD|inconnu", "|"]
    for value in result["public_prioritaire"].dropna():
        assert set(value.split("|")) <= set(PUBLIC_PRIORITAIRE)


def test_region_and_legal_category() -> None:
    result = normalize(
        table(
            Kind.CONVENTIONS,
            {
                "code_region": ["1", "01", "11.0", "94", "05", "2A", "Île-de-France"],
                "categorie_juridique": ["7210", "7210.0", "721", "72100", "9220", "abcd", None],
            },
        ),
        pseudonym_key=KEY,
    )
    assert result["code_region"].tolist() == ["01", "01", "11", "94", None, None, None]
    assert result["code_region__err"].tolist() == [None] * 4 + ["05", "2A", "Île-de-France"]
    assert result["categorie_juridique"].tolist() == [
        "7210",
        "7210",
        None,
        None,
        "9220",
        None,
        None,
    ]


def test_text_kept_as_is() -> None:
    result = one_column(Kind.HEURES, "num_lot", ["0012", "Lot 3 ", "", None])
    assert result["num_lot"].tolist() == ["0012", "Lot 3", None, None]
    assert result["num_lot__err"].tolist() == [None] * 4


def test_participant_is_hashed_and_never_copied() -> None:
    long_id = "X" * 65
    ids = ["P-001", " P-001", "P-002", long_id, None]
    result = one_column(Kind.HEURES, "participant_hash", ids)
    expected = pseudonymize(pd.Series(["P-001", "P-002"]), KEY).tolist()
    assert result["participant_hash"].tolist() == [
        expected[0],
        expected[0],
        expected[1],
        None,
        None,
    ]
    assert result["participant_hash__raw"].tolist() == ["***"] * 4 + [None]
    assert result["participant_hash__err"].tolist() == [None] * 3 + [
        "identifiant de plus de 64 caractères",
        None,
    ]
    dumped = result.to_csv()
    assert "P-001" not in dumped and "P-002" not in dumped and long_id not in dumped
    ok = one_column(Kind.HEURES, "participant_hash", ["Y" * 64])
    assert ok["participant_hash__err"].tolist() == [None]


# ---- Duplicates -----------------------------------------------------------------------------


def test_duplicates_compare_normalised_values() -> None:
    columns: dict[str, list[str | None]] = {
        "siret_porteur": [SIRET_A, "732 829 320 00074", SIRET_A, SIRET_A, SIRET_A, SIRET_A],
        "mois": ["2024-03", "03/2024", "2024-03", "2024-03", "2024-03", "2024-03"],
        "participant_hash": ["P1", "P1 ", "P2", "P1", "P1", "P1"],
        "modalite": ["CDI", "cdi", "CDI", "CDI", "CDI", "CDI"],
        "heures_realisees": ["1234.5", "1 234,50", "1234.5", "abc", "xyz", "abc"],
        "heures_formation": [None, "", None, None, None, None],
    }
    result = normalize(table(Kind.HEURES, columns), pseudonym_key=KEY)
    # row 2 equals row 1 once normalised; row 3 differs (participant); rows 4 and 5 hold
    # different invalid texts; row 6 repeats row 4.
    assert result["_duplicate"].tolist() == [False, True, False, False, False, True]
    assert result["_duplicate"].dtype == bool


def test_duplicates_of_too_long_participants_compare_the_ids() -> None:
    result = one_column(Kind.HEURES, "participant_hash", ["A" * 70, "B" * 70, "A" * 70])
    assert result["_duplicate"].tolist() == [False, False, True]


# ---- Property tests -------------------------------------------------------------------------

THOUSANDS = st.sampled_from(["", " ", "\u00a0", "\u202f"])
DECIMAL = st.sampled_from([",", "."])


def _written(number: Decimal, thousands: str, decimal: str) -> str:
    sign = "-" if number < 0 else ""
    integer, _, fraction = f"{abs(number):f}".partition(".")
    groups = []
    while integer:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    text = sign + thousands.join(groups)
    return text + (decimal + fraction if fraction else "")


decimals = st.decimals(
    min_value=-(10**9), max_value=10**9, places=3, allow_nan=False, allow_infinity=False
)


@given(decimals, THOUSANDS, DECIMAL)
def test_number_parsing(number: Decimal, thousands: str, decimal: str) -> None:
    text = _written(number, thousands, decimal)
    parsed = parse_number(pd.Series([text, f" {text} "]))
    assert parsed.tolist() == [float(number)] * 2


@given(decimals, THOUSANDS, DECIMAL)
def test_amount_parsing_rounds_half_up(number: Decimal, thousands: str, decimal: str) -> None:
    text = _written(number, thousands, decimal)
    expected = int((number * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert parse_amount_cents(pd.Series([text])).tolist() == [expected]


@given(st.integers(-(2**31 - 1), 2**31 - 1), THOUSANDS, st.sampled_from(["", ".0", ",00"]))
def test_integer_parsing(number: int, thousands: str, zeros: str) -> None:
    text = _written(Decimal(number), thousands, ",") + zeros
    assert parse_integer(pd.Series([text])).tolist() == [number]


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_spreadsheet_float_text_parses_back(number: float) -> None:
    from clauses.read.sheets import cell_text

    parsed = parse_number(pd.Series([cell_text(number)])).iloc[0]
    assert parsed == number or (math.isclose(parsed, number) and abs(number) > 1e300)


@given(
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.booleans(),
    st.sampled_from(["", " 00:00:00", " 13:45", "T08:30:15"]),
)
def test_date_parsing(date: dt.date, iso: bool, time: str) -> None:
    year = f"{date.year:04d}"
    text = (
        f"{year}-{date.month:02d}-{date.day:02d}"
        if iso
        else f"{date.day:02d}/{date.month:02d}/{year}"
    ) + time
    assert parse_date(pd.Series([text])).tolist() == [date]
    assert parse_month(pd.Series([text])).tolist() == [f"{year}-{date.month:02d}"]


@given(st.integers(1990, 2100), st.integers(1, 12), st.booleans(), st.booleans())
def test_month_parsing(year: int, month: int, iso: bool, pad: bool) -> None:
    mm = f"{month:02d}" if pad else str(month)
    text = f"{year:04d}-{mm}" if iso else f"{mm}/{year:04d}"
    assert parse_month(pd.Series([text])).tolist() == [f"{year:04d}-{month:02d}"]


@given(st.text(max_size=12))
def test_parsers_never_raise(text: str) -> None:
    series = pd.Series([text, None], dtype=object)
    for parse in (parse_number, parse_amount_cents, parse_integer, parse_date, parse_month):
        result = parse(series)
        assert len(result) == 2 and pd.isna(result.iloc[1])


def test_parsers_keep_the_index() -> None:
    series = pd.Series(["1,5", None, "1,5"], index=[10, 10, 3], dtype=object)
    result = parse_number(series)
    assert result.index.tolist() == [10, 10, 3]
    assert np.allclose(result.fillna(-1).to_numpy(), [1.5, -1, 1.5])


def test_years_outside_the_calendar_are_invalid() -> None:
    from clauses.check.values import parse_date, parse_month

    values = pd.Series(["01/01/0202", "2024-13-01", "15/03/2024", "20224-01-01"], dtype=object)
    assert parse_date(values).tolist() == [None, None, dt.date(2024, 3, 15), None]
    assert parse_month(pd.Series(["0202-01", "2024-02"], dtype=object)).tolist() == [
        None,
        "2024-02",
    ]


# ---- Batches --------------------------------------------------------------------------------


def test_arrow_batches_type_like_text_frames() -> None:
    """The reader's Arrow batches (unstripped, blank, null) type like stripped text frames."""
    import pyarrow as pa

    from clauses.check.normalize import normalize_batch

    texts = {
        "siret_porteur": [f" {SIRET_A} ", SIRET_A, "", None, "abc "],
        "mois": ["2024-03", " 03/2024", "2024-03", None, "x"],
        "heures_realisees": ["1 234,5", "1234.5 ", " ", None, "7"],
        "participant_hash": ["P1", " P1", "P2", None, "P3"],
    }
    arrow = {name: pa.array(values, type=pa.string()) for name, values in texts.items()}
    rows = np.arange(2, 7, dtype=np.int64)
    from_arrow = normalize_batch(Kind.HEURES, arrow, rows, pseudonym_key=KEY).frame()
    stripped = {n: [(v or "").strip() or None for v in values] for n, values in texts.items()}
    from_frame = normalize(table(Kind.HEURES, stripped), pseudonym_key=KEY)
    pd.testing.assert_frame_equal(from_arrow, from_frame)
    assert from_arrow["_duplicate"].tolist() == [False, True, False, False, False]


def test_duplicates_found_across_batches_by_hash() -> None:
    import pyarrow as pa

    from clauses.check.normalize import DuplicateTracker, normalize_batch

    tracker = DuplicateTracker()
    flags = []
    batches = [
        {"mois": ["2024-03", "2024-04"], "heures_realisees": ["1", "2"]},
        {"mois": ["03/2024", "2024-05"], "heures_realisees": ["1,0", "abc"]},  # row 1 again
        {"mois": ["2024-05", "2024-04"], "heures_realisees": ["abc", "2 "]},  # both seen
    ]
    for number, columns in enumerate(batches):
        arrow = {name: pa.array(values, type=pa.string()) for name, values in columns.items()}
        rows = np.array([2 * number + 2, 2 * number + 3], dtype=np.int64)
        batch = normalize_batch(Kind.HEURES, arrow, rows, pseudonym_key=KEY, duplicates=tracker)
        flags += batch.duplicate.tolist()
    assert flags == [False, False, True, False, True, True]
