"""The landing zone: receipt dates, what is refused unread, loose files (contract §1)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from clauses.receive.landing import (
    NAME_MAX,
    fitting_name,
    move_loose_files,
    name_problem,
    scan_landing,
    temporary_name,
)


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_entries_refusals_and_dates(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    touch(landing / "11" / "2024-01-15" / "ok.CSV")
    touch(landing / "11" / "2024-01-15" / "notes.txt")
    touch(landing / "11" / "2024-01-15" / "bad\nname.csv")
    touch(landing / "11" / "2024-01-15" / "evil\u202etxt.csv")
    os.symlink("/etc/passwd", landing / "11" / "2024-01-15" / "link.csv")
    (landing / "11" / "2024-01-15" / "folder.csv").mkdir()
    touch(landing / "11" / "2024-02-01" / "later.csv")  # after D: not received yet
    touch(landing / "99" / "2024-01-15" / "x.csv")  # unknown region
    touch(landing / "11" / "janvier" / "x.csv")  # bad date folder
    touch(landing / "11" / "loose.csv")  # waits for the live run

    scan = scan_landing(landing, date(2024, 1, 31))
    by_name = {e.file_name: e.refusal for e in scan.entries}
    assert by_name["ok.CSV"] is None
    assert "extension" in by_name["notes.txt"]
    assert "contrôle" in by_name["bad\nname.csv"]
    assert "sens d'écriture" in by_name["evil\u202etxt.csv"]
    assert "lien symbolique" in by_name["link.csv"]
    assert "ordinaire" in by_name["folder.csv"]
    assert "later.csv" not in by_name
    assert {p for p, _ in scan.outside} == {"99", "11/janvier"}
    assert scan.loose == ["11/loose.csv"]
    assert all(e.receipt_date == date(2024, 1, 15) for e in scan.entries)


def test_only_live_runs_move_loose_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    touch(landing / "24" / "depot.xlsx", "bytes")
    moved = move_loose_files(landing, date(2026, 11, 22))
    assert moved == [landing / "24" / "2026-11-22" / "depot.xlsx"]
    assert moved[0].read_text() == "bytes"
    assert not (landing / "24" / "depot.xlsx").exists()


def test_name_rule() -> None:
    assert name_problem("Activité 2024-01 (v2).xlsx") is None
    assert name_problem("export.csv.exe") is not None
    assert name_problem("a\tb.csv") is not None


def test_quarantine_retention(tmp_path: Path) -> None:
    from clauses.receive.quarantine import purge_quarantine

    old = touch(tmp_path / "q" / "11" / "2024-01-15" / "f.csv")
    recent = touch(tmp_path / "q" / "11" / "2024-04-01" / "g.csv")
    assert purge_quarantine(tmp_path / "q", date(2024, 4, 20), 90) == 1
    assert not old.exists() and recent.exists()


def test_names_derived_from_a_long_name_fit_the_file_system() -> None:
    """A name up to NAME_MAX bytes is valid (contract §1): what is derived from it (reports,
    temporary copies) is shortened on a character boundary, kept apart by a hash."""
    assert fitting_name("heures.csv", 13) == "heures.csv"
    long = "é" * 123 + ".csv"  # 250 bytes
    short = fitting_name(long, 13)
    assert len(short.encode()) + 13 <= NAME_MAX
    assert short.startswith("é" * 100) and short.count("~") == 1
    assert fitting_name("é" * 123 + ".xlsx", 13) != short  # same start, another name
    assert fitting_name(long, 13) == short  # the same name, the same result
    for room in range(0, 60):  # whatever is added, the cut never splits a character
        cut = fitting_name("aé€🚀" * 40, room)
        assert len(cut.encode()) + room <= NAME_MAX
    temporary = temporary_name("Q" * 250 + ".csv")
    assert len(temporary.encode()) <= NAME_MAX
    assert temporary.startswith(".QQQ") and temporary.endswith(".tmp")
    assert temporary != temporary_name("Q" * 250 + ".csv")  # unique at each call
