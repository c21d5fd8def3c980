"""A run killed with SIGKILL in the middle of loading leaves no trace: the rerun converges to the
warehouse and extracts of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from clauses.generate import generate_sample
from clauses.warehouse import make_engine

AS_OF = "2026-04-01"
VOLATILE = {"file_id", "id", "load_id", "run_id", "registered_at", "loaded_at", "report_path"}
TABLES = (
    "raw_files",
    "raw_loads",
    "dq_results",
    "stg_heures",
    "stg_marches",
    "stg_contacts",
    "stg_partenariats",
    "stg_bilans",
    "stg_conventions",
    "mart_conventions",
    "mart_rule_results",
)


def clauses_run(data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CLAUSES_DATA_DIR": str(data_dir), "CLAUSES_PSEUDONYM_KEY": "k" * 32}
    env.pop("CLAUSES_WAREHOUSE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "clauses.cli", "run", "--date", AS_OF],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def dump(data_dir: Path) -> dict[str, list[tuple]]:
    engine = make_engine(f"sqlite:///{data_dir / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        return {
            table: sorted(
                (
                    tuple(str(v) for k, v in row._mapping.items() if k not in VOLATILE)
                    for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
                ),
            )
            for table in TABLES
        }


def loads_so_far(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM raw_loads").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet


def test_sigkill_during_loads_then_rerun_converges(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate_sample(landing, scale=0.05, seed=3, defects=True)
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


PUBLISHER = """
import sys
from pathlib import Path
from clauses.extracts import Fmt, Table, write_extract

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
    import hashlib
    import json

    target = tmp_path / "extracts" / "11" / "2026-04-01"
    for delay in (0.3, 0.9, 1.7, 2.6):
        process = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(target)], stdout=subprocess.PIPE
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if not target.exists():  # killed before the first publication: nothing visible
            assert not [p for p in target.parent.iterdir() if not p.name.startswith(".")]
            continue
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        for output in manifest["outputs"]:
            data = (target / output["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == output["sha256"], output["file"]
        assert sorted(p.name for p in target.iterdir()) == sorted(
            [o["file"] for o in manifest["outputs"]] + ["manifest.json"]
        )
    assert target.exists(), "no publication completed: lengthen the delays"
