"""Planner statistics on PostgreSQL: refreshed when the staging rows or the DECP versions grew,
not otherwise."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.decp_files import contract, write_parquet
from support.small_landing import write_small_landing

from clauses.config import load_settings
from clauses.run.pipeline import run_date
from clauses.warehouse.engine import STAGING_STATISTICS_TARGET, analyze_apart, make_engine


def analyze_counts(url: str) -> dict[str, int]:
    with make_engine(url).connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE relname IN ('raw_files', 'stg_heures', 'stg_conventions')"
            )
        )
        return {name: count for name, count in rows}


def test_staging_is_analyzed_only_after_it_grew(
    data_dir: Path, postgres_warehouse_url: str
) -> None:
    postgres_url = postgres_warehouse_url
    write_small_landing(data_dir / "landing")
    settings = load_settings(warehouse_url=postgres_url)
    run_date(settings, date(2024, 3, 10))
    first = analyze_counts(postgres_url)
    assert set(first) == {"raw_files", "stg_heures", "stg_conventions"}
    assert min(first.values()) >= 1

    # Two more computed dates with no new file: the statistics are current.
    assert run_date(settings, date(2024, 3, 11), force=True).computation == "computed"
    assert run_date(settings, date(2024, 3, 12), force=True).computation == "computed"
    assert analyze_counts(postgres_url) == first

    # The files of 2024-04-02 registered (4 loaded rows become 5, more than a tenth more):
    # the next computation refreshes them.
    assert run_date(settings, date(2024, 4, 10)).computation == "computed"
    after = analyze_counts(postgres_url)
    assert all(after[table] == first[table] + 1 for table in first), (first, after)


def test_decp_versions_are_analyzed_after_a_load_that_grew_them(
    data_dir: Path, postgres_warehouse_url: str
) -> None:
    landing = data_dir / "landing" / "decp"
    first = [contract(f"U{i}", montant=50000 + i) for i in range(40)]
    write_parquet(landing / "2025-07-01" / "decp.parquet", first)
    second = [dict(row) for row in first]
    second[0]["montant"] = 99999  # one version of forty changed: a twentieth
    write_parquet(landing / "2025-07-02" / "decp.parquet", second)
    settings = load_settings(warehouse_url=postgres_warehouse_url)

    def analyzed() -> int:  # ANALYZE run by the pipeline, not by autovacuum
        with make_engine(postgres_warehouse_url).connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'decp_contracts'"
                )
            ).scalar_one()

    run_date(settings, date(2025, 7, 1))
    assert analyzed() == 1  # the first load: every version new
    run_date(settings, date(2025, 7, 2))
    assert analyzed() == 1  # one new version: the statistics hold


def test_committed_staging_tables_are_sampled_at_the_staging_target(
    postgres_warehouse_url: str,
) -> None:
    """`analyze_apart` samples 300 x `STAGING_STATISTICS_TARGET` rows (a histogram of that
    many buckets), in its own transactions: the pool's connections keep the server's default."""
    engine = _probe(postgres_warehouse_url, rows=20_000)
    analyze_apart(engine, ["statistics_probe"])
    with engine.connect() as connection:
        buckets = connection.execute(
            sa.text(
                "SELECT array_length(histogram_bounds::text::int[], 1) - 1 FROM pg_stats "
                "WHERE tablename = 'statistics_probe' AND attname = 'v'"
            )
        ).scalar_one()
        default = connection.execute(sa.text("SHOW default_statistics_target")).scalar_one()
    assert buckets == STAGING_STATISTICS_TARGET < int(default)


def test_a_table_that_cannot_be_analysed_apart_fails_the_call(postgres_warehouse_url: str) -> None:
    """An ANALYZE failing in one of `analyze_apart`'s threads is raised to its caller (the
    computation, which then fails and is retried), not lost with its thread; the tables
    analysed beside it are committed."""
    engine = _probe(postgres_warehouse_url, rows=2)
    with pytest.raises(sa.exc.ProgrammingError, match="no_such_table"):
        analyze_apart(engine, ["statistics_probe", "no_such_table"])
    with engine.connect() as connection:
        analysed = connection.execute(
            sa.text("SELECT count(*) FROM pg_stats WHERE tablename = 'statistics_probe'")
        ).scalar_one()
    assert analysed == 1  # its column's statistics, committed by its own transaction


def _probe(url: str, *, rows: int) -> sa.Engine:
    """The warehouse's engine, with a table `statistics_probe` of ``rows`` distinct integers."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE statistics_probe (v integer)"))
        connection.execute(
            sa.text("INSERT INTO statistics_probe SELECT g FROM generate_series(1, :n) g"),
            {"n": rows},
        )
    return engine
