"""Faults injected into real runs: a process killed with SIGKILL (while loading, computing or
publishing), the warehouse cut off in the middle of a run, a disk that fills up while an extract
is written. In every case nothing partial is visible, the failure is reported as such, and the
next run converges to the warehouse and extracts of an uninterrupted run."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.templates import Samples

from clauses.warehouse.engine import make_engine

AS_OF = "2026-04-01"
KEY = "k" * 32
VOLATILE = {
    "file_id",
    "id",
    "load_id",
    "run_id",
    "registered_at",
    "loaded_at",
    "report_path",
    "computed_at",
    "seconds",
}
FACT_TABLES = (
    "raw_files",
    "raw_loads",
    "dq_results",
    "stg_heures",
    "stg_marches",
    "stg_contacts",
    "stg_partenariats",
    "stg_bilans",
    "stg_conventions",
)
MART_TABLES = (
    "mart_conventions",
    "mart_rule_results",
    "mart_regions",
    "mart_files",
    "mart_convention_sources",
    "mart_monthly_hours",
    "computations",  # the register of computations, where the schema has one
)
TABLES = FACT_TABLES + MART_TABLES
STG_TABLES = tuple(t for t in FACT_TABLES if t.startswith("stg_"))

Dump = dict[str, list[tuple]]


# --------------------------------------------------------------------------------------------
# Running the pipeline and looking at what it left
# --------------------------------------------------------------------------------------------


def clauses_env(data_dir: Path, url: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "CLAUSES_DATA_DIR": str(data_dir),
        "CLAUSES_PSEUDONYM_KEY": KEY,
        "GX_ANALYTICS_ENABLED": "False",
    }
    env.pop("CLAUSES_WAREHOUSE_URL", None)
    env.pop("CLAUSES_DEMO", None)
    if url is not None:
        env["CLAUSES_WAREHOUSE_URL"] = url
    return env


def clauses_run(data_dir: Path, url: str | None = None) -> subprocess.Popen[bytes]:
    """`clauses run` as of AS_OF in a process of its own, output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "clauses.cli", "run", "--date", AS_OF],
        env=clauses_env(data_dir, url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_logged(data_dir: Path, url: str | None = None, timeout: float = 900) -> tuple[int, str]:
    """`clauses run` to completion; returns its exit code and its output (stdout + stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "clauses.cli", "run", "--date", AS_OF],
        env=clauses_env(data_dir, url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
    )
    return done.returncode, done.stdout.decode("utf-8", "replace")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'warehouse.sqlite'}"


def dump_url(url: str, tables: tuple[str, ...] = TABLES) -> Dump:
    """Every row of `tables` (those the schema has), without the columns that name a run."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            present = set(sa.inspect(connection).get_table_names())
            return {
                table: sorted(
                    tuple(str(v) for k, v in row._mapping.items() if k not in VOLATILE)
                    for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
                )
                for table in tables
                if table in present
            }
    finally:
        engine.dispose()


def dump(data_dir: Path) -> Dump:
    return dump_url(sqlite_url(data_dir))


def loads_so_far(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM raw_loads").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every entry under `folder` (hidden ones included) with its bytes; folders as b"/"."""
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): b"/" if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def same_csv_extracts(left: Path, right: Path) -> None:
    """The CSV of two extract trees are byte for byte equal (workbooks carry a timestamp)."""
    left_csv = sorted(p.relative_to(left) for p in left.rglob("*.csv"))
    assert left_csv, f"no extract under {left}"
    assert left_csv == sorted(p.relative_to(right) for p in right.rglob("*.csv"))
    for relative in left_csv:
        assert (left / relative).read_bytes() == (right / relative).read_bytes(), relative


def assert_complete_extract(folder: Path) -> None:
    """The folder holds exactly the outputs its manifest lists, with their SHA-256."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for output in manifest["outputs"]:
        data = (folder / output["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == output["sha256"], folder / output["file"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [o["file"] for o in manifest["outputs"]] + ["manifest.json"]
    )


# --------------------------------------------------------------------------------------------
# SIGKILL during the loads (18 regions, SQLite)
# --------------------------------------------------------------------------------------------


def test_sigkill_during_loads_then_rerun_converges(tmp_path: Path, samples: Samples) -> None:
    landing, _ = samples.get(0.05, 3, defects=True)  # read by both runs, never written
    reference, victim = tmp_path / "reference", tmp_path / "victim"
    for folder in (reference, victim):
        folder.mkdir()
        (folder / "landing").symlink_to(landing, target_is_directory=True)

    assert clauses_run(reference).wait(timeout=900) == 0
    expected = dump(reference)
    total_loads = len(expected["raw_loads"])

    process = clauses_run(victim)
    deadline = time.monotonic() + 600
    while loads_so_far(victim / "warehouse.sqlite") < 50:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    interrupted = loads_so_far(victim / "warehouse.sqlite")
    assert 0 < interrupted < total_loads, "the kill did not land in the middle of the loads"

    assert clauses_run(victim).wait(timeout=900) == 0
    assert dump(victim) == expected
    for path in sorted((reference / "extracts").rglob("*.csv")):
        twin = victim / "extracts" / path.relative_to(reference / "extracts")
        assert path.read_bytes() == twin.read_bytes(), path
    assert not list((victim / "extracts").rglob(".*"))  # no temporary folder left visible


# --------------------------------------------------------------------------------------------
# Two regions of the sample, computed once without their last file (the "previous" state of
# the date) and once with it (the reference); the faults below hit the run that adds the file.
# --------------------------------------------------------------------------------------------

KEPT_REGIONS = ("11", "27")
DELTA = ("11", "2026-03-09")  # region 11's last receipt folder: an export that changes figures


@dataclass
class State:
    """A data folder (landing, extracts, quarantine) and its warehouse."""

    data_dir: Path
    url: str

    def dump(self, tables: tuple[str, ...] = TABLES) -> Dump:
        return dump_url(self.url, tables)


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory: pytest.TempPathFactory, samples: Samples) -> tuple[Path, Path]:
    """(landing without the delta folder, the delta folder) of a small two-region sample."""
    root = tmp_path_factory.mktemp("two_regions")
    landing = root / "landing"
    samples.copy(landing, 0.05, 3, defects=True)
    for region in landing.iterdir():
        if region.name not in KEPT_REGIONS:
            shutil.rmtree(region)
    delta = root / "delta"
    shutil.move(landing / DELTA[0] / DELTA[1], delta)
    return landing, delta


def add_delta(state: State, delta: Path) -> None:
    shutil.copytree(delta, state.data_dir / "landing" / DELTA[0] / DELTA[1])


class Databases:
    """PostgreSQL databases made by a test (fresh or copied from a template), dropped at the end."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"clauses_fault_{uuid.uuid4().hex[:12]}"
        clause = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"{clause}'))
        self.names.append(name)
        return self.server.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.names:
                # A backend whose client vanished without a word could make DROP ... FORCE wait
                # (and every other DROP DATABASE of the server with it): terminate it first.
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name"
                    ),
                    {"name": name},
                )
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="module")
def databases(postgres_server: str) -> Iterator[Databases]:
    made = Databases(postgres_server)
    yield made
    made.drop_all()


def clone(state: State, folder: Path, databases: Databases | None = None) -> State:
    """A copy of `state` in `folder`: the data folder, and the warehouse (file or database)."""
    shutil.copytree(state.data_dir, folder, symlinks=True)
    if databases is None:
        return State(folder, sqlite_url(folder))
    return State(folder, databases.create(template=state.url))


def build_states(
    landing: Path, delta: Path, root: Path, databases: Databases | None
) -> tuple[State, State]:
    """(base: the date computed without the delta, reference: base + delta, run once more)."""
    root.mkdir()
    shutil.copytree(landing, root / "base" / "landing")
    url = databases.create() if databases else sqlite_url(root / "base")
    base = State(root / "base", url)
    code, output = run_logged(base.data_dir, url)
    assert code == 0, output[-3000:]
    reference = clone(base, root / "reference", databases)
    add_delta(reference, delta)
    code, output = run_logged(reference.data_dir, reference.url)
    assert code == 0, output[-3000:]
    return base, reference


@pytest.fixture(scope="module")
def sqlite_states(
    two_regions: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[State, State]:
    return build_states(*two_regions, tmp_path_factory.mktemp("sqlite") / "states", None)


@pytest.fixture(scope="module")
def postgres_states(
    two_regions: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> tuple[State, State]:
    return build_states(*two_regions, tmp_path_factory.mktemp("postgres") / "states", databases)


def states_for(
    backend: str, request: pytest.FixtureRequest
) -> tuple[State, State, Databases | None]:
    if backend == "sqlite":
        return (*request.getfixturevalue("sqlite_states"), None)
    return (*request.getfixturevalue("postgres_states"), request.getfixturevalue("databases"))


def check_previous_state_visible(victim: State, base: State, reference: State) -> None:
    """The date's figures and extracts are still the previous complete ones; the delta's
    loads, committed before the computation began, are there."""
    assert victim.dump(MART_TABLES) == base.dump(MART_TABLES)
    assert victim.dump(FACT_TABLES) == reference.dump(FACT_TABLES)
    assert folder_bytes(victim.data_dir / "extracts") == folder_bytes(base.data_dir / "extracts")


def check_converged(victim: State, reference: State) -> None:
    assert victim.dump() == reference.dump()
    same_csv_extracts(reference.data_dir / "extracts", victim.data_dir / "extracts")
    for folder in (victim.data_dir / "extracts").glob(f"*/{AS_OF}"):
        assert_complete_extract(folder)
    assert not list((victim.data_dir / "extracts").rglob(".*"))


# --------------------------------------------------------------------------------------------
# SIGKILL during the computation
# --------------------------------------------------------------------------------------------

# `clauses run` whose statements are watched: the first one matching PAUSE_AT is held back, the
# process says so on stdout and waits there, inside the computation's transaction, to be killed.
PAUSING_RUN = """
import os, re, sys, time
import sqlalchemy as sa
from clauses.cli import main

pattern = re.compile(os.environ["PAUSE_AT"])

def pause(connection, cursor, statement, parameters, context, executemany):
    if pattern.search(statement):
        print("PAUSED", statement.strip().splitlines()[0], flush=True)
        time.sleep(3600)

sa.event.listen(sa.engine.Engine, "before_cursor_execute", pause)
sys.exit(main(sys.argv[1:]))
"""

# Points of the computation's transaction: the date's mart rows already deleted; new strands
# inserted, rule results not yet; every mart table filled, explanations being written.
COMPUTE_POINTS = {
    "after-delete": r"^\s*DELETE FROM mart_rule_results WHERE as_of",
    "mid-inserts": r"^\s*INSERT INTO mart_rule_results",
    "before-commit": r"^\s*UPDATE mart_rule_results\s+SET measured_text",
}


def wait_for_line(process: subprocess.Popen[bytes], marker: bytes, timeout: float) -> bytes:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()
            if line.startswith(marker):
                return line
            assert line, f"the run ended (code {process.wait()}) before reaching {marker!r}"
        assert process.poll() is None, "the run ended before it could be killed"
    raise AssertionError(f"{marker!r} not seen in {timeout} s")


@pytest.mark.parametrize("point", sorted(COMPUTE_POINTS))
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigkill_during_compute_leaves_the_previous_figures(
    backend: str, point: str, two_regions: tuple[Path, Path], tmp_path: Path, request
) -> None:
    base, reference, databases = states_for(backend, request)
    assert base.dump(MART_TABLES) != reference.dump(MART_TABLES), "the delta changes nothing"
    victim = clone(base, tmp_path / "victim", databases)
    add_delta(victim, two_regions[1])

    with open(tmp_path / "victim.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", PAUSING_RUN, "run", "--date", AS_OF],
            env={**clauses_env(victim.data_dir, victim.url), "PAUSE_AT": COMPUTE_POINTS[point]},
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            wait_for_line(process, b"PAUSED", timeout=600)
            # A reader during the computation sees the previous figures...
            check_previous_state_visible(victim, base, reference)
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=60) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
    # ... and so does everyone after the kill: all of them, not a mix with the new ones.
    check_previous_state_visible(victim, base, reference)

    code, output = run_logged(victim.data_dir, victim.url)
    assert code == 0, output[-3000:]
    check_converged(victim, reference)


# --------------------------------------------------------------------------------------------
# The warehouse cut off in the middle of a run (PostgreSQL behind a TCP proxy)
# --------------------------------------------------------------------------------------------


class CuttableProxy:
    """A TCP proxy (real sockets, one thread per direction) between the pipeline and PostgreSQL.

    `arm(pattern, nth, stay_down)`: once the client has sent `pattern` (bytes of a statement)
    for the `nth` time, that message is forwarded and then every connection is cut at once, as
    when the server dies. With `stay_down` the port then refuses connections until `restore()`
    (the warehouse unreachable); otherwise new connections are served at once (a restart).
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.pattern: bytes | None = None
        self.remaining = 0
        self.stay_down = False
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._serve(self.listener)

    def arm(self, pattern: bytes, nth: int, *, stay_down: bool) -> None:
        with self.lock:
            self.pattern, self.remaining, self.stay_down = pattern, nth, stay_down

    def _serve(self, listener: socket.socket) -> None:
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the warehouse is unreachable
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        tail = b""
        try:
            while chunk := source.recv(1 << 16):
                sink.sendall(chunk)
                if from_client and self.pattern is not None:
                    seen = tail + chunk
                    tail = seen[-len(self.pattern) :]
                    if self.pattern in seen and self._count_down():
                        self.cut()
                        return
        except OSError:
            pass
        finally:
            _close(source, sink)

    def _count_down(self) -> bool:
        with self.lock:
            self.remaining -= 1
            if self.remaining == 0:
                self.pattern = None
                return True
            return False

    def cut(self) -> None:
        """Every connection closed at once (and the port closed, when staying down)."""
        with self.lock:
            self.cuts += 1
            sockets, self.sockets = self.sockets, []
            if self.stay_down:
                _close(self.listener)
        _close(*sockets)

    def restore(self) -> None:
        with self.lock:
            if self.listener.fileno() == -1:
                self.listener = socket.create_server(("127.0.0.1", self.port))
                self._serve(self.listener)

    def close(self) -> None:
        self.stay_down = True
        self.cut()


def _close(*sockets: socket.socket) -> None:
    """Shut down, then close: closing alone would neither wake a thread blocked in recv() or
    accept() on the socket nor tell the other end (the server would wait for its client)."""
    for end in sockets:
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected, or already shut down
        end.close()


def through(proxy: CuttableProxy, url: str) -> str:
    """`url` with its host and port replaced by the proxy's, over plain TCP."""
    rest = url.split("@", 1)[1].split("/", 1)[1]
    return f"postgresql://postgres@127.0.0.1:{proxy.port}/{rest}?sslmode=disable"


def consistent_facts(partial: Dump, complete: Dump) -> None:
    """Every file in `partial` is there whole, as in `complete`, or not at all."""
    for table in FACT_TABLES:
        missing = set(partial[table]) - set(complete[table])
        assert not missing, f"{table}: rows no complete run has: {sorted(missing)[:3]}"
    loaded = {row[0] for row in partial["raw_loads"]}  # raw_loads: sha256 first
    for table in STG_TABLES:
        by_file: dict[str, list[tuple]] = {}
        for row in partial[table]:
            by_file.setdefault(row[0], []).append(row)  # file_sha256 first
        for sha, rows in by_file.items():
            assert sha in loaded, f"{table}: rows of a file whose load is not recorded"
            assert sorted(rows) == sorted(r for r in complete[table] if r[0] == sha), (table, sha)


def postgres_port(server: str) -> tuple[str, int]:
    host_port = server.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    return host, int(port or 5432)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("moment", "pattern", "nth", "stay_down"),
    [
        ("loads", b"COPY stg_", 8, True),  # unreachable from the 8th file's COPY on
        ("loads", b"COPY stg_", 8, False),  # restarted at the 8th file's COPY
        ("compute", b"INSERT INTO mart_rule_results", 1, True),
    ],
    ids=["loads-unreachable", "loads-restarted", "compute-unreachable"],
)
def test_warehouse_cut_off_mid_run(
    moment: str,
    pattern: bytes,
    nth: int,
    stay_down: bool,
    two_regions: tuple[Path, Path],
    postgres_states: tuple[State, State],
    databases: Databases,
    postgres_server: str,
    tmp_path: Path,
) -> None:
    base, reference = postgres_states
    if moment == "loads":  # a first run over the whole landing zone, from an empty warehouse
        victim = State(tmp_path / "victim", databases.create())
        shutil.copytree(reference.data_dir / "landing", victim.data_dir / "landing")
        previous = {t: [] for t in MART_TABLES}
        previous_extracts: dict[str, bytes] = {}
    else:  # the run that adds the delta to a date computed before
        victim = clone(base, tmp_path / "victim", databases)
        add_delta(victim, two_regions[1])
        previous = base.dump(MART_TABLES)
        previous_extracts = folder_bytes(base.data_dir / "extracts")
    complete = reference.dump()

    proxy = CuttableProxy(postgres_port(postgres_server))
    try:
        proxied = through(proxy, victim.url)
        make_engine(proxied).dispose()
        proxy.arm(pattern, nth, stay_down=stay_down)
        code, failure = run_logged(victim.data_dir, proxied)
        assert proxy.cuts == 1, "the cut did not happen"
        assert code != 0, failure[-3000:]

        partial = victim.dump()
        consistent_facts(partial, complete)
        assert len(partial["raw_loads"]) < len(complete["raw_loads"]) or moment == "compute"
        if stay_down:  # the run stopped at the cut: the date's figures are the previous ones
            assert {t: partial[t] for t in MART_TABLES if t in partial} == {
                t: previous[t] for t in MART_TABLES if t in partial
            }
            assert folder_bytes(victim.data_dir / "extracts") == previous_extracts

        proxy.restore()
        code, output = run_logged(victim.data_dir, proxied)
        assert code == 0, output[-3000:]
    finally:
        proxy.close()
    check_converged(victim, reference)
    assert names_the_warehouse(failure), failure[-3000:]


def names_the_warehouse(output: str) -> bool:
    """Whether the run's output says in words that the warehouse failed (a traceback through
    clauses/warehouse.py or a logger of that name does not count)."""
    text = re.sub(r"clauses[./]warehouse|warehouse\.(py|sqlite)", "", output, flags=re.I)
    return re.search(r"\b(warehouse|entrepôt)\b", text, flags=re.I) is not None


# --------------------------------------------------------------------------------------------
# SIGKILL during the publication of an extract
# --------------------------------------------------------------------------------------------

PUBLISHER = """
import sys
from pathlib import Path
from clauses.publish.cells import Fmt, Table
from clauses.publish.extract import write_extract

target, version = Path(sys.argv[1]), 0
rows = [(f"ligne {i}", i, i / 7) for i in range(40_000)]
while True:
    version += 1
    write_extract(
        target, workbook_name="conformite.xlsx",
        tables=[Table("conventions", "Conventions",
                      [("Texte", Fmt.TEXT), ("Nombre", Fmt.INT), ("Valeur", Fmt.DEC4)], rows)],
        manifest_extra={"version": version},
    )
    print(version, flush=True)
"""


def test_sigkill_during_publication_leaves_a_complete_extract(tmp_path: Path) -> None:
    target = tmp_path / "extracts" / "11" / "2026-04-01"
    # Kills at fixed delays (the first ones usually before any publication), then, once a
    # publication is known to be complete, at delays that land in the following ones.
    for delay, after_first in ((0.3, False), (0.9, False), (0.4, True), (1.1, True), (2.3, True)):
        process = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(target)], stdout=subprocess.PIPE
        )
        if after_first:
            wait_for_line(process, b"1", timeout=300)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if not target.exists():  # killed before the first publication: nothing visible
            assert not after_first
            # (On a busy machine the first kill may even come before the region's folder.)
            assert not target.parent.exists() or not [
                p for p in target.parent.iterdir() if not p.name.startswith(".")
            ]
            continue
        assert_complete_extract(target)
    assert target.exists()


# --------------------------------------------------------------------------------------------
# A full disk while an extract is published
# --------------------------------------------------------------------------------------------

# The publication of a date in a process whose files cannot grow beyond a limit (SIGXFSZ
# ignored, so a write past it fails with EFBIG, as on a full disk). The warehouse is opened
# before the limit is set: only the extracts' writes meet it.
PUBLISH_ON_A_SMALL_DISK = """
import logging, resource, signal, sys
from datetime import date
from pathlib import Path
import sqlalchemy as sa
from clauses.publish.tables import publish_extracts
from clauses.warehouse.engine import make_engine

logging.basicConfig(level=logging.INFO)
url, extracts, as_of, limit = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
engine = make_engine(url)
with engine.connect() as connection:
    connection.execute(sa.text("SELECT COUNT(*) FROM mart_conventions")).all()
if limit:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
publish_extracts(engine, extracts, date.fromisoformat(as_of), force=True)
"""


def publish_with_limit(state: State, limit: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            PUBLISH_ON_A_SMALL_DISK,
            state.url,
            str(state.data_dir / "extracts"),
            AS_OF,
            str(limit),
        ],
        env=clauses_env(state.data_dir),
        capture_output=True,
        timeout=600,
    )


def test_full_disk_while_publishing_keeps_the_previous_extract(
    sqlite_states: tuple[State, State], tmp_path: Path
) -> None:
    base, _ = sqlite_states
    state = clone(base, tmp_path / "state")
    extracts = state.data_dir / "extracts"
    first_region = extracts / KEPT_REGIONS[0] / AS_OF
    sizes = sorted(p.stat().st_size for p in first_region.iterdir())
    # Every limit is below the largest file of the first region written: its publication fails,
    # at the first file (512 bytes), in the middle of the folder, or at its largest file.
    for limit in (512, sizes[len(sizes) // 2], sizes[-1] - 1):
        before = folder_bytes(extracts)
        done = publish_with_limit(state, limit)
        errors = done.stderr.decode("utf-8", "replace")
        assert done.returncode != 0, f"limit {limit}: the publication did not fail"
        assert f"[Errno {errno.EFBIG}] {os.strerror(errno.EFBIG)}" in errors, errors[-2000:]
        assert str(first_region) in errors, f"the error does not name the extract: {errors}"
        # Every extract folder is the previous one, byte for byte; no build left behind.
        assert folder_bytes(extracts) == before, f"limit {limit}"
        assert all(not p.name.startswith(".") for p in extracts.rglob("*")), f"limit {limit}"

    done = publish_with_limit(state, 0)  # disk space back: the next publication goes through
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert folder_bytes(first_region) != folder_bytes(
        base.data_dir / "extracts" / first_region.relative_to(extracts)
    )
    for folder in extracts.glob(f"*/{AS_OF}"):
        assert_complete_extract(folder)
    same_csv_extracts(base.data_dir / "extracts", extracts)
