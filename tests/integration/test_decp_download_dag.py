"""The real decp_download DAG, run with dag.test() against a local HTTP server given as the
connection `decp_source` (AIRFLOW_CONN_DECP_SOURCE), as an operator would configure it."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest
from support.decp_source import DecpSource, parquet_snapshot

from clauses.run.pipeline import today_in_paris

pytestmark = pytest.mark.airflow

DAGS = Path(__file__).resolve().parents[2] / "dags"
NEW_ROWS = [("2025-9", "2025AO9", "13002526500013", "2025-01-02", "1000", "Marché réservé")]


def run_download(retries: int | None = None):  # type: ignore[no-untyped-def]
    """One run of decp_download; with `retries`, that many, at once (no delay between tries)."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).dags["decp_download"]
    if retries is not None:
        for task in dag.tasks:
            task.retries = retries
            task.retry_delay = timedelta(0)
    return dag.test(logical_date=pendulum.now("UTC"))


def task_state(dag_run) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    (ti,) = dag_run.get_task_instances()
    return str(ti.state), ti.try_number


def landed(data_dir: Path) -> list[str]:
    root = data_dir / "landing"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def use_source(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DECP_SOURCE", json.dumps({"conn_type": "http", "host": url}))


def test_download_then_not_modified_then_cut_short_then_a_new_version(
    airflow_db: None, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = today_in_paris().isoformat()
    with DecpSource(parquet_snapshot()) as source:
        use_source(monkeypatch, source.url)

        # The first run lands the file in today's receipt folder.
        dag_run = run_download()
        assert task_state(dag_run) == ("success", 1)
        assert landed(data_dir) == [f"decp/{today}/decp.parquet"]
        first = data_dir / "landing" / "decp" / today / "decp.parquet"
        assert first.read_bytes() == source.body

        # The second is conditional; the server says 304: nothing lands, the run succeeds.
        dag_run = run_download()
        assert task_state(dag_run) == ("success", 1)
        assert source.requests[-1]["If-None-Match"] == source.etag
        assert landed(data_dir) == [f"decp/{today}/decp.parquet"]

        # A new version whose body is cut short: every try fails, nothing lands.
        source.publish(parquet_snapshot(rows=NEW_ROWS))
        source.fault = "truncate"
        requests_before = len(source.requests)
        dag_run = run_download(retries=2)
        assert str(dag_run.state) == "failed"
        assert task_state(dag_run) == ("failed", 3)
        assert len(source.requests) - requests_before == 3  # retried
        assert landed(data_dir) == [f"decp/{today}/decp.parquet"]
        assert not [p for p in (data_dir / "state").rglob("*.tmp")]

        # The new version whole: a second file, sorting after the first (it is in force).
        source.fault = "none"
        dag_run = run_download()
        assert task_state(dag_run) == ("success", 1)
        files = landed(data_dir)
        assert len(files) == 2 and files[0] == f"decp/{today}/decp.parquet"
        assert (data_dir / "landing" / files[1]).read_bytes() == source.body
        state = json.loads((data_dir / "state" / "decp_download.json").read_text())
        assert (state["file"], state["etag"]) == (files[1], source.etag)


def test_an_http_error_or_no_server_fails_the_task_and_lands_nothing(
    airflow_db: None, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with DecpSource(parquet_snapshot()) as source:
        use_source(monkeypatch, source.url)
        source.fault = "error"
        dag_run = run_download(retries=0)
        assert task_state(dag_run) == ("failed", 1)

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use_source(monkeypatch, f"http://127.0.0.1:{port}/decp.parquet")
    dag_run = run_download(retries=0)
    assert task_state(dag_run) == ("failed", 1)
    assert not (data_dir / "landing").exists()
