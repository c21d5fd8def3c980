"""The real nightly DAG, run with dag.test(), against a PostgreSQL warehouse."""

from __future__ import annotations

import csv
import http.server
import json
import threading
from datetime import date
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa
from support.contract_files import SIRET_A, SIRET_B, SIRET_D
from support.small_landing import (
    EXPECTED_CONVENTION_2025_03_01,
    EXPECTED_FILES_2025_03_01,
    write_small_landing,
)

from clauses.warehouse.engine import make_engine

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
    airflow_db: None, data_dir: Path, postgres_warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE",
        json.dumps({"conn_type": "postgres", "extra": {"url": postgres_warehouse_url}}),
    )
    write_small_landing(data_dir / "landing")
    dag_run = run_nightly(date(2025, 3, 1))
    assert str(dag_run.state) == "success"

    folder = data_dir / "extracts" / "11" / "2025-03-01"
    assert read_csv(folder / "conventions.csv") == [EXPECTED_CONVENTION_2025_03_01]
    statuses = {r["Fichier"]: r["Statut"] for r in read_csv(folder / "fichiers.csv")}
    assert statuses == EXPECTED_FILES_2025_03_01
    with make_engine(postgres_warehouse_url).connect() as connection:
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
    airflow_db: None, data_dir: Path, postgres_warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE",
        json.dumps({"conn_type": "postgres", "extra": {"url": postgres_warehouse_url}}),
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
    with make_engine(postgres_warehouse_url).connect() as connection:
        errors = dict(connection.execute(sa.text("SELECT region, error FROM run_summaries")).all())
    assert errors["11"] is None
    assert "NotADirectoryError" in errors["24"], errors


def test_one_file_s_failure_is_its_own_and_the_team_is_alerted(
    airflow_db: None, data_dir: Path, postgres_warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16's night: a 20 MB CSV of a single line, and a file whose checking raises an
    error nobody foresaw (injected), land beside region 11's good files. Each is refused alone,
    with its French reason; the region's figures and extract are those of its good files; the
    run succeeds and the team's webhook hears of the internal error; the next night too."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE",
        json.dumps({"conn_type": "postgres", "extra": {"url": postgres_warehouse_url}}),
    )
    landing = data_dir / "landing"
    write_small_landing(landing)
    day = landing / "11" / "2024-04-02"
    (day / "une ligne.csv").write_bytes(b"Heures;" * (3 << 20))
    header = (day / "heures_2024-02_correction.csv").read_text(encoding="utf-8").splitlines()[0]
    row = f"{SIRET_A},2024-03,OP1,M1,{SIRET_B},État,{SIRET_D},ETTI,BOUM,Intérim,80,Petit"
    (day / "boum.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")

    from clauses.check import examine

    original = examine.normalize_batch

    def fragile(kind, columns, *args, **kwargs):  # type: ignore[no-untyped-def]
        values = columns.get("participant_hash")
        if values is not None and "BOUM" in values.to_pylist():
            raise ZeroDivisionError("a bug only boum.csv triggers")
        return original(kind, columns, *args, **kwargs)

    monkeypatch.setattr(examine, "normalize_batch", fragile)
    alerts: list[dict[str, object]] = []

    class Webhook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            alerts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    server = http.server.HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CLAUSES_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/")
    try:
        dag_run = run_nightly(date(2025, 3, 1))
        assert str(dag_run.state) == "success"
        folder = data_dir / "extracts" / "11" / "2025-03-01"
        assert read_csv(folder / "conventions.csv") == [EXPECTED_CONVENTION_2025_03_01]
        files = {r["Fichier"]: r for r in read_csv(folder / "fichiers.csv")}
        assert {name: files[name]["Statut"] for name in EXPECTED_FILES_2025_03_01} == (
            EXPECTED_FILES_2025_03_01
        )
        assert files["une ligne.csv"]["Statut"] == "refusé"
        assert (
            "la ligne 1 fait plus de 1\u202f048\u202f576 octets" in files["une ligne.csv"]["Motif"]
        )
        assert files["boum.csv"]["Statut"] == "refusé"
        assert files["boum.csv"]["Motif"].startswith("Erreur interne lors de la lecture ;")
        assert (data_dir / "quarantine" / "11" / "2024-04-02" / "boum.csv").exists()
        assert [a["files"] for a in alerts] == [{"11": ["boum.csv"]}]

        assert str(run_nightly(date(2025, 3, 2)).state) == "success"  # the next night as well
        assert len(alerts) == 1  # known files are not read, nor reported, again
    finally:
        server.shutdown()
