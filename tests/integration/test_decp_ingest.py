"""DECP snapshots through real runs, on SQLite and PostgreSQL (contract §8.1): stored as
versions over intervals of snapshots, copies and bad snapshots registered, one snapshot's
failure isolated from the regions' files and the other snapshots."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.decp_files import BUYERS, contract, write_csv_snapshot, write_parquet
from support.small_landing import write_small_landing

from clauses.config import load_settings
from clauses.load import decp as load_decp
from clauses.run.pipeline import run_date
from clauses.warehouse.engine import make_engine, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse(request: pytest.FixtureRequest, data_dir: Path) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_warehouse"))
    return str(request.getfixturevalue("postgres_warehouse_url"))


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    with make_engine(url).connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(query)).all()]


def _contracts_of(url: str, snapshot: int) -> dict[str, float]:
    """uid -> amount of the contracts of `snapshot`, read through the intervals."""
    rows = _rows(
        url,
        "SELECT uid, amount FROM decp_contracts WHERE first_snapshot <= "
        f"{snapshot} AND (last_snapshot IS NULL OR last_snapshot >= {snapshot})",
    )
    return {str(uid): float(amount) for uid, amount in rows}  # type: ignore[arg-type]


def test_snapshots_are_stored_as_versions_over_intervals(data_dir: Path, warehouse: str) -> None:
    landing = data_dir / "landing" / "decp"
    first = [contract(f"U{i}", montant=50000 + i) for i in range(50)]
    write_parquet(landing / "2025-07-01" / "decp.parquet", first)
    second = [dict(row) for row in first[1:]]  # U0 left
    second[0]["montant"] = 99999  # U1 changed
    second.append(contract("NEW"))
    write_csv_snapshot(landing / "2025-07-02" / "decp.csv", second)
    settings = load_settings(warehouse_url=warehouse)
    run_date(settings, date(2025, 7, 1))
    report = run_date(settings, date(2025, 7, 2))
    assert report.decp["loaded"] == 1 and report.decp["already_known"] == 1
    snapshots = _rows(
        warehouse,
        "SELECT snapshot_id, n_contracts, versions_added, versions_closed FROM decp_snapshots "
        "ORDER BY snapshot_id",
    )
    (s1, n1, a1, c1), (s2, n2, a2, c2) = snapshots
    assert (n1, a1, c1) == (50, 50, 0)
    assert (n2, a2, c2) == (50, 2, 2)  # U1 and NEW added; U0 and U1's old version closed
    assert _rows(warehouse, "SELECT COUNT(*) FROM decp_contracts") == [(52,)]
    assert _contracts_of(warehouse, int(s1)) == {f"U{i}": 50000.0 + i for i in range(50)}
    expected = {f"U{i}": 50000.0 + i for i in range(2, 50)} | {"U1": 99999.0, "NEW": 100000.0}
    assert _contracts_of(warehouse, int(s2)) == expected


def test_copies_bad_snapshots_and_the_rest_of_the_run(data_dir: Path, warehouse: str) -> None:
    landing = data_dir / "landing"
    write_small_landing(landing)
    good = [contract(f"U{i}") for i in range(10)]
    folder = landing / "decp" / "2025-02-01"
    write_parquet(folder / "a.parquet", good)
    write_parquet(landing / "decp" / "2025-02-02" / "copie.parquet", good)  # same bytes
    (folder / "b.parquet").write_bytes(b"PAR1 this is not parquet")
    bad = [contract(f"X{i}", acheteur_id="123") for i in range(3)] + good[:7]  # 30% excluded
    write_csv_snapshot(folder / "c.csv", bad)
    (folder / "notes.txt").write_text("hello")
    settings = load_settings(warehouse_url=warehouse)
    report = run_date(settings, date(2025, 3, 1))
    assert report.decp == report.decp | {
        "received": 5,
        "loaded": 1,
        "quarantined": 2,
        "refused": 1,
        "duplicates": 1,
    }
    assert not report.failed_regions()
    assert any(summary.get("loaded") for summary in report.regions.values())
    statuses = sorted(_rows(warehouse, "SELECT file_name, status, n_rows FROM decp_files"))
    assert statuses == [
        ("a.parquet", "loaded", 10),
        ("b.parquet", "quarantined", None),
        ("c.csv", "quarantined", 10),
        ("copie.parquet", "loaded", 10),
        ("notes.txt", "refused", None),
    ]
    quarantine = data_dir / "quarantine" / "decp" / "2025-02-01"
    report_text = (quarantine / "c.csv.rapport.txt").read_text(encoding="utf-8")
    assert "trop de lignes exclues : 3 sur 10" in report_text
    assert "SIRET de l'acheteur invalide" in report_text
    assert (quarantine / "b.parquet").read_bytes() == b"PAR1 this is not parquet"
    quality = _rows(
        warehouse,
        "SELECT kind, level, unexpected_count FROM dq_results "
        "WHERE kind = 'DECP' AND success = false",
    )
    assert ("DECP", "exclusion", 3) in quality
    # A second run has nothing new: nothing is read again.
    again = run_date(settings, date(2025, 3, 1))
    assert again.decp["already_known"] == 5


def test_one_snapshot_failing_unexpectedly_is_quarantined_alone(
    data_dir: Path, sqlite_warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = data_dir / "landing" / "decp"
    write_parquet(landing / "2025-02-01" / "bad.parquet", [contract("A")])
    write_parquet(landing / "2025-02-02" / "good.parquet", [contract("B")])
    original = load_decp.examine_snapshot

    def exploding(path: Path, min_amount: float = 0.0):  # type: ignore[no-untyped-def]
        if path.name == "bad.parquet":
            raise KeyError("an error nobody foresaw")
        return original(path, min_amount)

    monkeypatch.setattr(load_decp, "examine_snapshot", exploding)
    report = run_date(load_settings(warehouse_url=sqlite_warehouse), date(2025, 3, 1))
    assert report.decp["loaded"] == 1 and report.decp["quarantined"] == 1
    assert report.internal_errors() == {"decp": ["2025-02-01/bad.parquet"]}
    assert _contracts_of(sqlite_warehouse, 1) == {"B": 100000.0}
    assert BUYERS[0] in {
        r[0] for r in _rows(sqlite_warehouse, "SELECT buyer_siret FROM decp_buyers")
    }


def _indexes(url: str) -> dict[str, str]:
    """The indexes of decp_contracts and their definitions, from the catalog."""
    query = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'decp_contracts'"
        if url.startswith("postgresql")
        else "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'decp_contracts'"
    )
    return {str(name): str(sql) for name, sql in _rows(url, query)}


def test_a_bulk_load_rebuilds_the_indexes_as_they_were(
    data_dir: Path, warehouse: str, caplog: pytest.LogCaptureFixture
) -> None:
    migrate(make_engine(warehouse))
    before = _indexes(warehouse)
    assert {"ix_decp_contracts_open", "ix_decp_contracts_figures", "ix_decp_contracts_key"} <= set(
        before
    )
    landing = data_dir / "landing" / "decp"
    rows = [contract(f"U{i}", montant=50000 + i) for i in range(40)]
    write_parquet(landing / "2025-07-01" / "decp.parquet", rows)
    changed = [dict(row) for row in rows]
    changed[0]["montant"] = 99999  # one version of forty: inserted into the indexes
    write_parquet(landing / "2025-07-02" / "decp.parquet", changed)
    settings = load_settings(warehouse_url=warehouse)
    with caplog.at_level("INFO", logger="clauses.load.decp"):
        run_date(settings, date(2025, 7, 1))
    assert "decp_contracts: 40 versions added, 3 indexes rebuilt" in caplog.text
    assert _indexes(warehouse) == before
    caplog.clear()
    with caplog.at_level("INFO", logger="clauses.load.decp"):
        run_date(settings, date(2025, 7, 2))
    assert "indexes rebuilt" not in caplog.text
    assert _indexes(warehouse) == before
    assert _contracts_of(warehouse, 2)["U0"] == 99999.0


def test_a_role_not_owning_the_versions_keeps_their_indexes(postgres_warehouse_url: str) -> None:
    # PostgreSQL: only an owner may drop an index; another role inserts into them.
    engine = make_engine(postgres_warehouse_url)
    migrate(engine)
    role = f"clauses_test_{uuid.uuid4().hex[:8]}"
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"CREATE ROLE {role}"))
            assert len(load_decp._secondary_indexes(connection, "decp_contracts")) == 3
            connection.execute(sa.text(f"SET LOCAL ROLE {role}"))
            assert load_decp._secondary_indexes(connection, "decp_contracts") == {}
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        engine.dispose()
