"""DECP snapshots read and checked (contract §8.1-8.2): columns matched, rows typed, excluded by
the GX suite and counted by reason, contracts from their first valid initial row."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.decp_files import BUYERS, contract, write_csv_snapshot, write_parquet

from clauses.check import decp as check_decp
from clauses.check.decp import examine_snapshot
from clauses.contract import decp
from clauses.read.decp import SnapshotUnreadable, match_columns


def _by_uid(path: Path, min_amount: float = 0.0) -> dict[str, dict[str, object]]:
    examined = examine_snapshot(path, min_amount)
    return {row["uid"]: row for row in examined.contracts.to_dict("records")}


def test_columns_match_without_case_accents_or_separators() -> None:
    columns = match_columns(
        [
            "UID",
            "Id",
            "acheteur.id",
            "date_notification",
            "Montant ",
            "considerations sociales",
            "titulaire_denominationSociale",
            "lieu_execution_type_code",
        ]
    )
    assert columns.missing == []
    assert columns.matched["dateNotification"] == "date_notification"
    assert columns.matched["lieuExecution_typeCode"] == "lieu_execution_type_code"
    assert columns.unknown == ["titulaire_denominationSociale"]


@pytest.mark.parametrize("form", ["parquet", "csv;", "csv,", "csv-bom"])
def test_a_snapshot_in_every_form_gives_the_same_contracts(tmp_path: Path, form: str) -> None:
    rows = [
        contract("A", considerationsSociales="Clause sociale, Critère social"),
        contract("B", considerationsSociales="Sans objet", montant="39999,99"),
        contract("C", considerationsSociales=" marche RESERVE | sans objet", type="Travaux"),
    ]
    if form == "parquet":
        rows[1]["montant"] = 39999.99
        path = write_parquet(tmp_path / "s.parquet", rows)
    else:
        delimiter = "," if form == "csv," else ";"
        path = write_csv_snapshot(
            tmp_path / "s.csv", rows, delimiter=delimiter, bom=form == "csv-bom"
        )
    found = _by_uid(path)
    assert set(found) == {"A", "B", "C"}
    assert found["A"]["social"] and not found["B"]["social"] and found["C"]["social"]
    assert found["B"]["amount"] == pytest.approx(39999.99)
    assert found["C"]["works"] and not found["A"]["works"]
    assert found["A"]["contract_key"] == "2025AOA"
    assert found["A"]["region_code"] == "11"


def test_a_parquet_siret_that_lost_its_zeros_is_padded(tmp_path: Path) -> None:
    padded = "00097715717415"
    rows = [contract("A", acheteur_id=int(padded)), contract("B", acheteur_id=BUYERS[1])]
    path = write_parquet(tmp_path / "s.parquet", rows, acheteur_id=pa.int64())
    found = _by_uid(path)
    assert found["A"]["buyer_siret"] == padded
    assert found["B"]["buyer_siret"] == BUYERS[1]


def test_rows_are_excluded_and_counted_by_reason(tmp_path: Path) -> None:
    rows = [
        contract("OK"),
        contract("", id="no uid"),
        contract("S", acheteur_id="12345678901234"),
        contract("D", dateNotification="02/06/2025"),
        contract("Y", dateNotification="1989-12-31"),
        contract("M", montant="-5"),
        contract("N", montant="beaucoup"),
        contract("K", considerationsSociales="Clause sociale, Clause verte"),
        contract("T", dateNotification="2025-06-02T10:30:00+02:00"),
    ]
    examined = examine_snapshot(write_csv_snapshot(tmp_path / "s.csv", rows))
    assert examined.rows == 9 and examined.excluded == 7
    counts = {check.column: check.unexpected_count for check in examined.checks}
    assert counts == {
        "uid": 1,
        "acheteur_id": 1,
        "dateNotification": 2,
        "montant": 2,
        "considerationsSociales": 1,
    }
    assert set(examined.contracts["uid"]) == {"OK", "T"}
    lines = [e["ligne"] for c in examined.checks for e in c.examples]
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9]  # header = line 1
    assert examined.too_many_excluded()  # 7 of 9: the snapshot is quarantined


def test_one_gx_run_gives_the_results_of_verdicts_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot's batches are validated in one GX run (COMPLETE): the same checks, counts,
    examples and exclusions as a first run for the verdicts, then the failed rules again."""
    rows = [contract(f"OK{i}") for i in range(30)] + [
        contract("", id="no uid"),
        contract("D", dateNotification="02/06/2025"),
        contract("M", montant="beaucoup"),
    ]
    path = write_csv_snapshot(tmp_path / "s.csv", rows)
    one_run = examine_snapshot(path)
    runs: list[bool] = []
    original = check_decp.suite_results

    def verdicts_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        runs.append(kwargs.pop("verdicts_first"))
        return original(*args, **kwargs)  # the default: verdicts first

    monkeypatch.setattr(check_decp, "suite_results", verdicts_first)
    two_runs = examine_snapshot(path)
    assert runs and not any(runs)  # the snapshot asks for one run
    assert two_runs.checks == one_run.checks
    assert (two_runs.rows, two_runs.excluded) == (one_run.rows, one_run.excluded) == (33, 3)
    assert any(c.success for c in one_run.checks) and any(c.examples for c in one_run.checks)
    assert two_runs.contracts.equals(one_run.contracts)


def test_first_valid_initial_row_wins_and_modifications_are_ignored(tmp_path: Path) -> None:
    rows = [
        contract("A", montant="abc"),  # excluded: the next initial row holds
        contract("A", montant=50000, titulaire_id="2"),
        contract("A", montant=70000, titulaire_id="3"),
        contract("A", montant=90000, modification_id=1),
        contract("B", modification_id=2, montant=1),  # no initial row: not counted
        contract("C", modification_id="", montant=45000),
    ]
    found = _by_uid(write_csv_snapshot(tmp_path / "s.csv", rows))
    assert set(found) == {"A", "C"}
    assert found["A"]["amount"] == 50000


def test_contracts_below_the_lowest_threshold_are_not_kept(tmp_path: Path) -> None:
    rows = [contract("A", montant=40000), contract("B", montant=39999.99)]
    found = _by_uid(write_parquet(tmp_path / "s.parquet", rows), 40000)
    assert set(found) == {"A"}


def test_buyer_name_is_that_of_its_first_valid_initial_row(tmp_path: Path) -> None:
    rows = [
        contract("A", acheteur_nom="Premier", montant=-1),  # excluded
        contract("B", acheteur_nom="Deuxième", modification_id=1),  # not initial
        contract("C", acheteur_nom="Troisième"),
        contract("D", acheteur_nom="Quatrième"),
    ]
    examined = examine_snapshot(write_csv_snapshot(tmp_path / "s.csv", rows))
    assert examined.buyers.to_dict("records") == [
        {"buyer_siret": BUYERS[0], "buyer_name": "Troisième"}
    ]


@pytest.mark.parametrize(
    ("values", "region"),
    [
        (("1", "75", "13001", "Code commune"), "01"),
        (("99", "75", None, None), "11"),
        ((None, "2a", None, None), "94"),
        ((None, "1", None, None), "84"),
        ((None, None, "93", "Code région"), "93"),
        ((None, None, "2B", "code departement"), "94"),
        ((None, None, "20000", "Code postal"), "94"),
        ((None, None, "97411", "Code postal"), "04"),
        ((None, None, "97501", "Code commune"), None),
        ((None, None, "69123", "Code commune"), "84"),
        ((None, None, "FR", "Code pays"), None),
        ((None, None, None, None), None),
    ],
)
def test_region_of_a_contract(values: tuple[str | None, ...], region: str | None) -> None:
    assert decp.contract_region(*values) == region


_CODES = st.sampled_from(
    ["", " ", "1", "01", "11", "2a", "2B", "20", "20000", "75", "93", "971", "97411", "97501",
     "99", "13001", "69123", "FR", "x"]
)  # fmt: skip
_TYPES = st.sampled_from(
    ["", "Code région", "code REGION", "Code département", " code departement ", "Code commune",
     "Code postal", "CODE POSTAL", "Code pays", "autre"]
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.none() | _CODES, st.none() | _CODES, st.none() | _CODES, st.none() | _TYPES),
        min_size=1,
        max_size=40,
    )
)
def test_regions_of_a_snapshot_are_those_of_each_contract(
    rows: list[tuple[str | None, ...]],
) -> None:
    # The snapshot's regions are computed per distinct value of each column, at once: the
    # same as the region of each contract alone.
    names = (
        "acheteur_region_code",
        "acheteur_departement_code",
        "lieuExecution_code",
        "lieuExecution_typeCode",
    )
    table = pa.table(
        {
            name: pa.array([row[i] for row in rows], pa.large_string())
            for i, name in enumerate(names)
        }
    )
    assert list(check_decp._regions(table)) == [decp.contract_region(*row) for row in rows]


def test_contract_keys() -> None:
    assert decp.contract_key("2024-AO/12 b") == decp.contract_key("2024AO12B") == "2024AO12B"
    assert decp.contract_key(" - ") is None


def test_missing_required_column_or_garbage_is_unreadable(tmp_path: Path) -> None:
    path = write_csv_snapshot(
        tmp_path / "s.csv",
        [contract("A")],
        headers=("uid", "id", "acheteur_id", "x", "y", "z") + tuple(f"c{i}" for i in range(8)),
    )
    with pytest.raises(SnapshotUnreadable, match="dateNotification"):
        examine_snapshot(path)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not a parquet file PAR1")
    with pytest.raises(SnapshotUnreadable, match="Parquet illisible"):
        examine_snapshot(bad)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".parquet"]))
def test_any_bytes_are_read_or_refused_with_a_reason(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    """Whatever a snapshot holds, reading it either works or raises SnapshotUnreadable."""
    header = b"uid;id;acheteur_id;dateNotification;montant;considerationsSociales\n"
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes((header if suffix == ".csv" and data[:1] != b"\xff" else b"") + data)
    try:
        examined = examine_snapshot(path)
    except SnapshotUnreadable as error:
        assert str(error)
    else:
        assert examined.rows >= len(examined.contracts)


def test_version_digests_never_change(tmp_path: Path) -> None:
    # Stored versions are found again by their digest: a digest that changed with the code
    # would close and add again every contract of the next snapshot. These two were stored by
    # the first loader (one attributed contract, one unattributed without a consideration).
    path = write_parquet(
        tmp_path / "decp.parquet",
        [
            contract("A"),
            contract(
                "B",
                montant=45000.5,
                considerationsSociales="Sans objet",
                acheteur_region_code=None,
            ),
        ],
    )
    digests = dict(examine_snapshot(path).contracts[["uid", "row_hash"]].itertuples(index=False))
    assert digests == {"A": 3245086294830235810, "B": -6581332547102079188}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.none() | st.sampled_from(["a", "b", "B", "é", "e\u0301", "", " a"]), max_size=60)
)
def test_first_of_each_is_the_first_row_of_each_value(values: list[str | None]) -> None:
    seen: set[str | None] = set()
    expected = []
    for position, value in enumerate(values):
        if value not in seen:
            seen.add(value)
            expected.append(position)
    table = pa.table({"uid": pa.array(values, pa.large_string())})
    assert check_decp.first_of_each(table, "uid").tolist() == expected
    encoded = pa.table({"uid": pa.array(values, pa.large_string()).dictionary_encode()})
    assert check_decp.first_of_each(encoded, "uid").tolist() == expected
