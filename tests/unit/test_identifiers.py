"""SIRET normalisation and checking, participant pseudonymisation."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.contract_files import SIRET_A, SIRET_B, SIRET_C, luhn_digit, luhn_ok, make_siret

from clauses.contract.identifiers import normalize_siret, pseudonymize, siret_is_valid


def _reference_valid(siret: object) -> bool:
    """The rule of the contract, one value at a time."""
    if not isinstance(siret, str) or len(siret) != 14 or not siret.isascii() or not siret.isdigit():
        return False
    if luhn_ok(siret) and luhn_ok(siret[:9]):
        return True
    return siret[:9] == "356000000" and sum(map(int, siret)) % 5 == 0


def _la_poste(luhn: bool, sum_multiple_of_5: bool) -> str:
    for nic in range(100000):
        siret = f"356000000{nic:05d}"
        if luhn_ok(siret) == luhn and (sum(map(int, siret)) % 5 == 0) == sum_multiple_of_5:
            return siret
    raise AssertionError("no such SIRET")


@st.composite
def valid_sirets(draw: st.DrawFn) -> str:
    # Stored as a number, a SIRET keeps at least 12 digits (contract §3: 12-13 digits).
    leading_zeros = draw(st.integers(0, 2))
    siren8 = (
        "0" * leading_zeros
        + draw(st.sampled_from("123456789"))
        + draw(
            st.text(alphabet="0123456789", min_size=7 - leading_zeros, max_size=7 - leading_zeros)
        )
    )
    nic4 = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    return make_siret(siren8, nic4)


# ---- normalize_siret --------------------------------------------------------------------


def test_normalize_siret_forms() -> None:
    values = pd.Series(
        [
            "732 829 320 00074",  # spaces
            "732\u00a0829\u00a0320\u00a000074",  # no-break spaces
            "732\u202f829\u202f320\u202f00074",  # narrow no-break spaces
            " 73282932000074 ",
            "73282932000074.0",  # number as text
            "123456600014",  # 12 digits, two zeros lost
            "5521005854005",  # 13 digits, one zero lost
            "5521005854005,0",
            None,
            "abc",
            "12345",  # contract 1.2: any count of lost zeros is padded back (then checked)
            "1.23457E+13",  # Excel's lossy scientific form: not normalisable
            "123456789012345",  # 15 digits: too long, left as is
        ]
    )
    result = normalize_siret(values)
    assert result.tolist() == [
        SIRET_A,
        SIRET_A,
        SIRET_A,
        SIRET_A,
        SIRET_A,
        SIRET_B,
        SIRET_C,
        SIRET_C,
        None,
        "abc",
        "00000000012345",
        "1.23457E+13",
        "123456789012345",
    ]
    assert result.dtype == object


def test_normalize_siret_accepts_numbers_and_keeps_index() -> None:
    values = pd.Series([int(SIRET_B), float(SIRET_C), np.nan], index=[5, 5, 7], dtype=object)
    result = normalize_siret(values)
    assert result.tolist() == [SIRET_B, SIRET_C, None]
    assert result.index.tolist() == [5, 5, 7]


@given(valid_sirets())
def test_siret_with_leading_zeros_stored_as_number_round_trips(siret: str) -> None:
    stored = pd.Series(
        [int(siret), float(int(siret)), str(int(siret)), f"{int(siret)}.0"], dtype=object
    )
    normalized = normalize_siret(stored)
    assert normalized.tolist() == [siret] * 4
    assert siret_is_valid(normalized).all()


@given(
    valid_sirets(),
    st.lists(st.sampled_from([" ", "\u00a0", "\u202f"]), max_size=5),
    st.lists(st.integers(0, 14), max_size=5),
)
def test_siret_with_spaces_round_trips(siret: str, spaces: list[str], where: list[int]) -> None:
    text = siret
    for space, position in zip(spaces, where, strict=False):
        text = text[:position] + space + text[position:]
    assert normalize_siret(pd.Series([text])).tolist() == [siret]


# ---- siret_is_valid ---------------------------------------------------------------------


def test_siret_is_valid_known_values() -> None:
    poste_not_luhn = _la_poste(luhn=False, sum_multiple_of_5=True)
    poste_bad = _la_poste(luhn=False, sum_multiple_of_5=False)
    # A SIREN failing Luhn while the 14 digits pass it: invalid.
    body = "123456789" + "0000"
    bad_siren = body + luhn_digit(body)
    assert luhn_ok(bad_siren) and not luhn_ok(bad_siren[:9])
    values = pd.Series(
        [
            SIRET_A,
            SIRET_B,
            poste_not_luhn,
            poste_bad,
            bad_siren,
            SIRET_A[:-1] + "9",
            "7328293200007",
            "7328293200007a",
            None,
            "７３２８２９３２０００７４",
        ]
    )
    assert siret_is_valid(values).tolist() == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
    ]


@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789", min_size=14, max_size=14),
            st.text(max_size=16),
            st.none(),
        ),
        max_size=30,
    )
)
def test_siret_is_valid_matches_reference(values: list[str | None]) -> None:
    result = siret_is_valid(pd.Series(values, dtype=object))
    assert result.dtype == bool
    assert result.tolist() == [_reference_valid(v) for v in values]


@given(st.integers(0, 99999))
def test_la_poste_rule(nic: int) -> None:
    siret = f"356000000{nic:05d}"
    assert bool(siret_is_valid(pd.Series([siret])).iloc[0]) == _reference_valid(siret)


# ---- pseudonymize -----------------------------------------------------------------------


def test_pseudonymize() -> None:
    key = b"secret-key"
    result = pseudonymize(pd.Series([" P-001 ", "P-001", "P-002", None, "  "]), key)
    expected = hmac.new(key, b"P-001", hashlib.sha256).hexdigest()
    assert result.tolist()[:2] == [expected, expected]
    assert result.iloc[2] != expected and len(result.iloc[2]) == 64
    assert result.iloc[3] is None and result.iloc[4] is None
    other_key = pseudonymize(pd.Series(["P-001"]), b"other")
    assert other_key.iloc[0] != expected


def test_pseudonymize_needs_a_key() -> None:
    with pytest.raises(ValueError):
        pseudonymize(pd.Series(["P-001"]), b"")
