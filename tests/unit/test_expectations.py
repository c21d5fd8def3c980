"""The Great Expectations run of a batch: verdicts first, unexpected rows for failures only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from support.small_landing import write_small_landing

from clauses.check import expectations
from clauses.check.examine import examine, examine_group
from clauses.config import EXPECTATIONS_DIR
from clauses.read.files import open_file
from clauses.receive.landing import scan_landing


def test_no_suite_tolerates_a_share_of_unexpected_rows() -> None:
    """`suite_results` takes a verdict of the whole batch for "no row of any file is
    unexpected"; an expectation with `mostly` would break that, and each file's results."""
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            assert "mostly" not in expectation["kwargs"], (path.name, expectation)


def _examined_checks(landing: Path) -> dict[str, list[expectations.CheckResult]]:
    entries = scan_landing(landing, date(2025, 3, 1)).entries
    items = [
        examine(entry, entry.file_name, open_file(entry.path))
        for entry in entries
        if entry.refusal is None and entry.path.suffix == ".csv"
    ]
    examine_group(items, pseudonym_key=b"k")
    return {item.entry.file_name: item.checks for item in items}


def test_two_passes_give_the_results_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files with and without errors validated together: the same checks, counts and examples
    as one GX run collecting the unexpected rows of every expectation."""
    write_small_landing(tmp_path / "landing")
    two_passes = _examined_checks(tmp_path / "landing")
    runs: list[list[int] | None] = []
    original = expectations._run_suite

    def one_pass(kind, frame, result_format):  # type: ignore[no-untyped-def]
        runs.append(None)
        return list(original(kind, frame, result_format).results)

    monkeypatch.setattr(expectations, "suite_results", one_pass)
    one = _examined_checks(tmp_path / "landing")
    assert runs  # the reference ran
    assert two_passes == one
    failed = [c for checks in one.values() for c in checks if not c.success]
    assert any(c.examples for c in failed)  # the comparison covers unexpected rows
    assert any(c.success for checks in one.values() for c in checks)


def test_great_expectations_is_imported_without_the_modules_no_suite_uses() -> None:
    """GX imports scipy.stats and altair at load time for an expectation no suite uses: they
    are left as stand-ins (half of GX's import), each imported whole the moment something uses
    it, whichever way it is imported."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from clauses.check.expectations import _import_gx\n"
        "_import_gx()\n"
        "deferred = [type(sys.modules[n]).__name__ for n in ('scipy.stats', 'altair')]\n"
        "loaded = [n for n in ('scipy.stats._stats_py', 'altair.vegalite') if n in sys.modules]\n"
        "from scipy import stats\n"
        "import altair as alt\n"
        "import altair.vegalite\n"
        "chart = alt.Chart().mark_bar().to_dict()['mark']['type']\n"
        "print(*deferred, len(loaded), round(float(stats.entropy([1, 1], [1, 3])), 4), chart,\n"
        "      type(sys.modules['altair']).__name__, type(sys.modules['scipy.stats']).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [
        "_Deferred",
        "_Deferred",
        "0",
        "0.1438",
        "bar",
        "module",
        "module",
    ]
