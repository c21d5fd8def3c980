"""A real Airflow 3 deployment, started as child processes for a test or a benchmark.

    with fresh_postgres_database(server_url, "airflow_meta") as metadata_url:
        with AirflowStack(home, metadata_url, "LocalExecutor", {"CLAUSES_DATA_DIR": ...}) as stack:
            stack.cli("dags", "unpause", "clauses_nightly")
            stack.cli("backfill", "create", "--dag-id", "clauses_nightly", ...)
            states = stack.wait_for_runs("clauses_nightly", 30, timeout=1200)

`AirflowStack` runs `airflow db migrate`, then `airflow api-server`, `airflow scheduler`,
`airflow dag-processor` (and `airflow celery worker` with the CeleryExecutor), each in a session of
its own with its output in `home/logs/<component>.log`. It waits until the api-server answers and
the DAG is serialized, and on exit stops every process it started (SIGTERM, then SIGKILL), task
processes included: the task supervisor puts each task in a process group of its own, so the
descendants of every component are collected, by PID, before any signal is sent.

Configuration is by environment only (Airflow writes its default airflow.cfg in `home`, which
the environment overrides): the stack does not inherit the caller's AIRFLOW_*, AIRFLOW__* and
CLAUSES_* variables (the Makefile sets some for the test process), and `env_extra` comes last,
so it can override anything the stack sets.

Scheduled runs are off (`[scheduler] use_job_schedule = False`): runs come only from what the
caller creates (backfill, trigger). Unpausing the DAG would otherwise also start the latest
scheduled run, a *live* one, which moves loose landing files. Pass
`{"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True"}` in `env_extra` for the nightly schedule.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "clauses_nightly"
FINAL_RUN_STATES = ("success", "failed")
Executor = Literal["LocalExecutor", "CeleryExecutor"]
T = TypeVar("T")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_MARKER = "airflow_stack:reserved"  # a Redis db holding it is one the harness may share


class StackError(RuntimeError):
    """The deployment did not start, died, or a wait ran out; the message holds the log tails."""


@dataclass(frozen=True)
class DagRunRow:
    run_id: str
    run_type: str
    logical_date: datetime | None
    state: str
    start_date: datetime | None
    end_date: datetime | None


def _airflow_binary() -> Path:
    beside = Path(sys.executable).with_name("airflow")
    return beside if beside.exists() else ROOT / ".venv" / "bin" / "airflow"


def _sqlalchemy_url(url: str, driver: str = "postgresql+psycopg") -> str:
    """`postgresql://...` (as the test fixtures give it) with an explicit driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return f"{driver}://" + url[len(prefix) :]
    return url


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "airflow_stack") -> Iterator[str]:
    """A new, empty database on the server of `server_url` (a database URL), dropped afterwards.

    Yields its URL in the form of `server_url` (same user, host and driver)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def choose_redis_db(host: str = REDIS_HOST, port: int = REDIS_PORT) -> int:
    """A Redis database number for the Celery broker that nobody else uses.

    Databases 15 down to 1 (0 is everyone's default): the first one that is empty or already
    marked as the harness's. Harness instances sharing it do not meet: each has its own queue.
    """
    import redis

    for number in range(15, 0, -1):
        client = redis.Redis(host=host, port=port, db=number, socket_timeout=5)
        try:
            if client.dbsize() == 0 or client.exists(REDIS_MARKER):
                client.set(REDIS_MARKER, "Celery broker of tests/airflow_stack.py harnesses")
                return number
        finally:
            client.close()
    raise StackError(f"no free Redis database on {host}:{port} (1-15 all hold foreign keys)")


class AirflowStack:
    """api-server + scheduler + dag-processor (+ celery worker), by PID, bounded in time."""

    def __init__(
        self,
        home: Path,
        metadata_url: str,
        executor: Executor = "LocalExecutor",
        env_extra: Mapping[str, str] | None = None,
        *,
        dag_id: str = DAG_ID,
        start_timeout: float = 300.0,
        stop_timeout: float = 30.0,
    ) -> None:
        if executor not in ("LocalExecutor", "CeleryExecutor"):
            raise ValueError(f"unsupported executor {executor!r}")
        self.home = Path(home).resolve()
        self.logs_dir = self.home / "logs"
        self.metadata_url = _sqlalchemy_url(metadata_url)
        self.executor = executor
        self.dag_id = dag_id
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.queue = f"stack_{uuid.uuid4().hex[:10]}"  # Celery queue of this stack only
        self.redis_db: int | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.timings: dict[str, float] = {}
        self._log_files: dict[str, Path] = {}
        self._engine: sa.Engine | None = None
        self.env = self._environment(dict(env_extra or {}))

    # -- environment -------------------------------------------------------------------------

    def _environment(self, env_extra: dict[str, str]) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not (k.startswith("AIRFLOW") or k.startswith("CLAUSES_"))
        }
        env = {
            **inherited,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Paris",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            # Log servers of the workers (LocalExecutor: the scheduler) on ports of their own.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # Faster than the defaults, still what a small deployment would run with.
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "GX_ANALYTICS_ENABLED": "False",
            "PYTHONUNBUFFERED": "1",
        }
        if self.executor == "CeleryExecutor":
            self.redis_db = choose_redis_db()
            env.update(
                {
                    "AIRFLOW__CELERY__BROKER_URL": (
                        f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}"
                    ),
                    "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
                    + _sqlalchemy_url(self.metadata_url, "postgresql+psycopg"),
                    "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
                }
            )
        env.update(env_extra)
        return env

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> AirflowStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        started = time.monotonic()
        try:
            self._run_logged("db-migrate", ["db", "migrate"], timeout=600)
            self.timings["db_migrate"] = time.monotonic() - started
            self._spawn("api-server", ["api-server", "--port", str(self.port)])
            self._spawn("dag-processor", ["dag-processor"])
            self._spawn("scheduler", ["scheduler"])
            if self.executor == "CeleryExecutor":
                self._spawn(
                    "celery-worker",
                    [
                        "celery",
                        "worker",
                        "--queues",
                        self.queue,
                        "--celery-hostname",
                        f"{self.queue}@%h",
                    ],
                )

            def left() -> float:
                return max(started + self.start_timeout - time.monotonic(), 1.0)

            self.wait_for(self._api_answers, left(), "the api-server to answer")
            self.wait_for(self._dag_serialized, left(), f"DAG {self.dag_id} to be serialized")
            if self.executor == "CeleryExecutor":
                self.wait_for(self._worker_ready, left(), "the celery worker to be ready")
            self.timings["start"] = time.monotonic() - started
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM every component's process group and every descendant, SIGKILL what remains."""
        atexit.unregister(self.stop)
        try:
            if self.processes:
                self._end_processes()
        finally:
            if self.redis_db is not None:
                self._forget_queue()
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _end_processes(self) -> None:
        import psutil

        tracked: list[psutil.Process] = []
        groups: set[int] = set()
        for popen in self.processes.values():
            if popen.poll() is None:
                with contextlib.suppress(psutil.Error):
                    root = psutil.Process(popen.pid)
                    tracked.append(root)
                    tracked.extend(root.children(recursive=True))
            groups.add(popen.pid)  # start_new_session: the group id is the leader's PID
        for proc in tracked:  # task processes run in groups of their own (task supervisor)
            with contextlib.suppress(psutil.Error):
                if os.getpgid(proc.pid) == proc.pid:
                    groups.add(proc.pid)
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGTERM)
        for proc in tracked:
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _, alive = psutil.wait_procs(tracked, timeout=self.stop_timeout)
        if alive:  # what ignored SIGTERM, for the record
            with contextlib.suppress(OSError), open(self.logs_dir / "stop.log", "a") as record:
                for proc in alive:
                    with contextlib.suppress(psutil.Error):
                        record.write(f"SIGKILL {proc.pid} {' '.join(proc.cmdline())[:200]}\n")
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)
        for popen in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=5)
        self.processes.clear()

    def _forget_queue(self) -> None:
        """Delete this stack's Celery queue and bindings from the broker (its name is unique)."""
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=self.redis_db, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"*{self.queue}*"))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass  # the broker is gone: nothing to clean
        finally:
            client.close()

    def _spawn(self, name: str, args: list[str]) -> None:
        log_path = self.logs_dir / f"{name}.log"
        self._log_files[name] = log_path
        with open(log_path, "ab") as log_file:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own airflow binary
                [str(_airflow_binary()), *args],
                env=self.env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _run_logged(self, name: str, args: list[str], timeout: float) -> None:
        log_path = self.logs_dir / f"{name}.log"
        self._log_files[name] = log_path
        with open(log_path, "ab") as log_file:
            result = subprocess.run(  # noqa: S603
                [str(_airflow_binary()), *args],
                env=self.env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                start_new_session=True,
            )
        if result.returncode != 0:
            raise StackError(f"airflow {' '.join(args)} failed\n{self.tail_logs()}")

    def wait_for(
        self, condition: Callable[[], T], timeout: float, what: str, poll: float = 1.0
    ) -> T:
        """Poll `condition` until it returns something true (returned); bounded by `timeout`.

        Raises StackError, with the log tails, on timeout or when a component has exited."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise StackError(
                    f"timed out after {timeout:.0f}s waiting for {what}\n{self.tail_logs()}"
                )
            time.sleep(poll)

    def check_alive(self) -> None:
        """Raise, with the log tails, when a component has exited."""
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise StackError(f"Airflow component(s) exited: {dead}\n{self.tail_logs()}")

    def _api_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=5):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def _dag_serialized(self) -> bool:
        errors = self.query("SELECT filename, stacktrace FROM import_error")
        if errors:
            raise StackError(f"DAG import errors: {errors}\n{self.tail_logs()}")
        return bool(
            self.query("SELECT 1 FROM serialized_dag WHERE dag_id = :d", d=self.dag_id)
            and self.query("SELECT 1 FROM dag WHERE dag_id = :d", d=self.dag_id)
        )

    def _worker_ready(self) -> bool:
        path = self._log_files["celery-worker"]
        return path.exists() and " ready." in path.read_text(errors="replace")

    # -- helpers -----------------------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.metadata_url, pool_pre_ping=True)
        return self._engine

    def query(self, sql: str, **params: Any) -> list[sa.Row[Any]]:
        """Rows of a query on the metadata database (no rows while its table does not exist)."""
        try:
            with self.engine.connect() as connection:
                return list(connection.execute(sa.text(sql), params).all())
        except sa.exc.ProgrammingError as error:
            if getattr(error.orig, "sqlstate", None) == "42P01":  # undefined table: not migrated
                return []
            raise

    def cli(
        self, *args: str, timeout: float = 300.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`airflow <args>` with the stack's environment; output captured."""
        result = subprocess.run(  # noqa: S603
            [str(_airflow_binary()), *args],
            env=self.env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise StackError(
                f"airflow {' '.join(args)} exited with {result.returncode}\n"
                f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}\n"
                f"{self.tail_logs()}"
            )
        return result

    def dag_runs(self, dag_id: str | None = None) -> list[DagRunRow]:
        rows = self.query(
            "SELECT run_id, run_type, logical_date, state, start_date, end_date FROM dag_run "
            "WHERE dag_id = :d ORDER BY logical_date, id",
            d=dag_id or self.dag_id,
        )
        return [DagRunRow(*row) for row in rows]

    def wait_for_runs(
        self, dag_id: str | None, count: int, timeout: float, poll: float = 2.0
    ) -> dict[str, str]:
        """Wait until `count` runs of the DAG are in a final state; run_id → state, by date."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            runs = self.dag_runs(dag_id)
            final = [r for r in runs if r.state in FINAL_RUN_STATES]
            if len(final) >= count:
                return {r.run_id: r.state for r in final}
            if time.monotonic() > deadline:
                states = [(r.run_id, r.state) for r in runs]
                raise StackError(
                    f"timed out after {timeout:.0f}s: {len(final)}/{count} runs of "
                    f"{dag_id or self.dag_id} in a final state; runs: {states}\n"
                    f"{self.tail_logs()}"
                )
            time.sleep(poll)

    def task_instances(self, dag_id: str | None = None) -> list[sa.Row[Any]]:
        return self.query(
            "SELECT run_id, task_id, state, try_number, hostname, queue, executor, "
            "external_executor_id, start_date, end_date FROM task_instance WHERE dag_id = :d "
            "ORDER BY start_date",
            d=dag_id or self.dag_id,
        )

    def task_errors(self, limit: int = 5) -> str:
        """The errors logged by the latest failed task attempts, one line each (task logs)."""
        logs = sorted(
            (p for p in self.logs_dir.glob("dag_id=*/run_id=*/task_id=*/attempt=*.log")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        found: list[str] = []
        for path in logs:
            errors = _logged_errors(path)
            if errors:
                found.append(f"{path.relative_to(self.logs_dir)}: " + " | ".join(errors))
            if len(found) >= limit:
                break
        return "\n".join(found)

    def tail_logs(self, lines: int = 30) -> str:
        """The last lines of every component's log, and the errors of the latest task logs."""
        chunks = []
        for name, path in self._log_files.items():
            if path.exists():
                text = path.read_text(errors="replace").splitlines()
                chunks.append(f"===== {name} ({path}) =====\n" + "\n".join(text[-lines:]))
        task_errors = self.task_errors()
        if task_errors:
            chunks.append("===== errors in task logs =====\n" + task_errors)
        return "\n".join(chunks)


def _logged_errors(path: Path) -> list[str]:
    """`event: exception` of the error records of a task log (JSON lines)."""
    errors = []
    for line in path.read_text(errors="replace").splitlines():
        if '"level":"error"' not in line and '"level":"critical"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            errors.append(line[:500])
            continue
        details = record.get("error_detail") or []
        causes = [f"{d.get('exc_type')}: {str(d.get('exc_value'))[:400]}" for d in details]
        errors.append(f"{record.get('event')} {'; '.join(causes)}".strip())
    return errors


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


__all__ = [
    "AirflowStack",
    "DagRunRow",
    "StackError",
    "choose_redis_db",
    "free_port",
    "fresh_postgres_database",
]
