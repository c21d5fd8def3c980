"""The warehouse-wide locks hold across processes, on both backends."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from clauses.warehouse.engine import INGEST_LOCK, exclusive, make_engine

HOLDER = """
import sys, time
from clauses.warehouse.engine import exclusive, make_engine
with exclusive(make_engine(sys.argv[1]), int(sys.argv[2])):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
    print(f"released {time.time()}", flush=True)
"""


def hold_then_take(url: str, key: int) -> tuple[float, float]:
    """Another process holds the lock for 2 s; returns (its release time, our acquire time)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(key), "2"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    with exclusive(make_engine(url), key):
        acquired = time.time()
    released = float(holder.stdout.readline().split()[1])
    assert holder.wait(timeout=30) == 0
    return released, acquired


def test_sqlite_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    released, acquired = hold_then_take(f"sqlite:///{tmp_path / 'w.sqlite'}", INGEST_LOCK)
    assert acquired >= released


@pytest.mark.postgres
def test_postgres_lock_is_exclusive_across_processes(postgres_url: str) -> None:
    released, acquired = hold_then_take(postgres_url, INGEST_LOCK)
    assert acquired >= released
    # released for good: taken again at once
    started = time.monotonic()
    with exclusive(make_engine(postgres_url), INGEST_LOCK):
        pass
    assert time.monotonic() - started < 5
