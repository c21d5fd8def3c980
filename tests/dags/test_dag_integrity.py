"""Every DAG file imports, yields its DAG, and touches no database or connection while parsed."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))


class ParseTimeAccess(AssertionError):
    pass


def _forbidden(*args: object, **kwargs: object) -> None:
    raise ParseTimeAccess(f"called while parsing a DAG file: {args} {kwargs}")


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    import sqlalchemy
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook, Variable

    with (
        mock.patch.object(BaseHook, "get_connection", _forbidden),
        mock.patch.object(Variable, "get", _forbidden),
        mock.patch.object(sqlalchemy, "create_engine", _forbidden),
        mock.patch("clauses.warehouse.engine.make_engine", _forbidden),
    ):
        return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_file_imports_without_parse_time_access(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert DAG_FILES


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_id_is_the_file_stem(dagbag, path: Path) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags.get(path.stem)
    assert dag is not None, f"{path.name} must define the DAG {path.stem}"
    assert dag.doc_md and dag.tags
    assert all(task.retries >= 1 for task in dag.tasks)
    assert all(task.on_failure_callback for task in dag.tasks)


def test_nightly_is_a_few_coarse_tasks_at_night_in_paris(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["clauses_nightly"]
    assert [t.task_id for t in dag.topological_sort()] == ["consolidate"]
    timetable = dag.timetable
    assert type(timetable).__name__ == "CronDataIntervalTimetable"
    assert str(timetable._timezone.name) == "Europe/Paris"
    assert timetable.summary.startswith("0 0")
    assert dag.max_active_runs == 1 and set(dag.params.keys()) == {"date", "regions", "force"}


def test_decp_download_runs_on_working_days_in_paris(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["decp_download"]
    assert [t.task_id for t in dag.topological_sort()] == ["download_snapshot"]
    timetable = dag.timetable
    assert type(timetable).__name__ == "CronTriggerTimetable"  # runs at 06:00, not a day later
    assert getattr(timetable.timezone, "name", timetable.timezone) == "Europe/Paris"
    assert timetable.expression == "0 6 * * 1-5"  # Monday to Friday
    assert dag.catchup is False and dag.max_active_runs == 1
    task = dag.get_task("download_snapshot")
    assert task.retries >= 1 and task.retry_exponential_backoff


def test_dag_files_import_no_heavy_library_at_module_level() -> None:
    for path in DAG_FILES:
        head = [
            line for line in path.read_text().splitlines() if line.startswith(("import", "from"))
        ]
        for module in ("pandas", "pyarrow", "great_expectations", "sqlalchemy", "clauses."):
            assert not any(module in line for line in head), (path.name, module)
