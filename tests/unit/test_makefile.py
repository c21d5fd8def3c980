"""The Makefile honours the variables the README documents (its commands, as `make -n` prints
them, without running them): CLAUSES_DATA_DIR moves every data path, and `make clean` never
deletes a data folder set elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLAUSES_")}
    environment |= env
    return subprocess.run(
        ["make", "-n", "-C", str(ROOT), target],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("target", ["run", "clean"])
def test_clauses_data_dir_moves_every_data_path(tmp_path: Path, target: str) -> None:
    elsewhere = tmp_path / "donnees"
    commands = dry_run(target, CLAUSES_DATA_DIR=str(elsewhere))
    if target == "run":
        assert f"{ROOT}/data" not in commands
        assert f"CLAUSES_DATA_DIR={elsewhere}" in commands
        assert f"ls -A {elsewhere}/landing" in commands
    else:  # the folder set elsewhere is left in place
        assert f"rm -rf {elsewhere}" not in commands and "left in place" in commands


def test_the_default_data_folder_is_the_project_s(tmp_path: Path) -> None:
    assert f"CLAUSES_DATA_DIR={ROOT}/data" in dry_run("run")
    assert f"rm -rf {ROOT}/data" in dry_run("clean")
