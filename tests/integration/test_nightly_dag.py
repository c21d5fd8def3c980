"""The real nightly DAG, run with dag.test(), against a PostgreSQL warehouse."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa
from small_landing import (
    EXPECTED_CONVENTION_2025_03_01,
    EXPECTED_FILES_2025_03_01,
    write_small_landing,
)

from clauses.warehouse import make_engine

pytestmark = pytest.mark.airflow


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def run_nightly(logical: date, **conf: object):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    dag = dagbag.dags["clauses_nightly"]
    when = pendulum.datetime(logical.year, logical.month, logical.day, tz="Europe/Paris")
    return dag.test(logical_date=when, run_conf=conf or None)


def test_nightly_dag_on_postgres_matches_hand_computed_figures(
    airflow_db: None, data_dir: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE",
        json.dumps({"conn_type": "postgres", "extra": {"url": postgres_url}}),
    )
    write_small_landing(data_dir / "landing")
    dag_run = run_nightly(date(2025, 3, 1))
    assert str(dag_run.state) == "success"

    folder = data_dir / "extracts" / "11" / "2025-03-01"
    assert read_csv(folder / "conventions.csv") == [EXPECTED_CONVENTION_2025_03_01]
    statuses = {r["Fichier"]: r["Statut"] for r in read_csv(folder / "fichiers.csv")}
    assert statuses == EXPECTED_FILES_2025_03_01
    with make_engine(postgres_url).connect() as connection:
        loaded = connection.execute(sa.text("SELECT COUNT(*) FROM stg_heures")).scalar_one()
        summary = connection.execute(
            sa.text(
                "SELECT files_loaded, files_quarantined, n_a_examiner, n_liberable, "
                "compute_seconds > 0, publish_seconds > 0 FROM run_summaries WHERE region='11'"
            )
        ).one()
    assert loaded == 4  # 2 + 1 + 1: the copy is loaded once, the broken file not at all
    assert tuple(summary) == (6, 1, 1, 0, True, True)  # the strand is "à examiner"


def test_a_failing_region_fails_the_run_after_the_others_are_published(
    airflow_db: None, data_dir: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE",
        json.dumps({"conn_type": "postgres", "extra": {"url": postgres_url}}),
    )
    landing = data_dir / "landing"
    write_small_landing(landing)
    # Region 24 receives a broken file, and its quarantine folder cannot be created (a plain
    # file stands in its way): an unexpected error in that region only.
    broken = landing / "11" / "2024-04-02" / "heures_errone.csv"
    (landing / "24" / "2024-04-02").mkdir(parents=True)
    (landing / "24" / "2024-04-02" / broken.name).write_bytes(broken.read_bytes() + b"\n")
    (data_dir / "quarantine").mkdir()
    (data_dir / "quarantine" / "24").write_text("not a folder")

    dag_run = run_nightly(date(2025, 3, 1))
    assert str(dag_run.state) == "failed"
    states = {ti.task_id: (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()}
    assert states == {"consolidate": ("failed", 1)}  # not retried: a retry would change nothing

    # Region 11's figures and extract are published all the same.
    folder = data_dir / "extracts" / "11" / "2025-03-01"
    assert read_csv(folder / "conventions.csv") == [EXPECTED_CONVENTION_2025_03_01]
    with make_engine(postgres_url).connect() as connection:
        errors = dict(connection.execute(sa.text("SELECT region, error FROM run_summaries")).all())
    assert errors["11"] is None
    assert "NotADirectoryError" in errors["24"], errors
