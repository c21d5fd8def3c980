"""French reports on a file (contract §4, §7): written whatever the file's name."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from clauses.reports import FileReport, write_report

NAME_MAX = 255  # bytes in a file name (ext4, XFS, tmpfs...)


def test_reports_of_a_long_name_fit_the_file_system_and_name_the_file_in_full(
    tmp_path: Path,
) -> None:
    for name in (
        "é" * 123 + ".csv",  # 250 bytes: a valid name (contract §1)
        "latin1-" + "\\xe9" * 200 + ".csv",  # a name shown with escapes: 811 bytes
    ):
        report = FileReport("11", date(2025, 6, 2), name, "", "refusé", refusal="motif")
        folder = tmp_path / str(len(name))
        text_path = write_report(folder, report)
        json_path = text_path.with_name(text_path.name.replace(".txt", ".json"))
        assert {p.name for p in folder.iterdir()} == {text_path.name, json_path.name}
        assert len(json_path.name.encode()) <= NAME_MAX
        assert text_path.name.startswith(name[:50])
        assert f"« {name} »" in text_path.read_text(encoding="utf-8")
        twin = json.loads(json_path.read_text(encoding="utf-8"))
        assert twin["fichier"] == name
    short = write_report(tmp_path, FileReport("11", date(2025, 6, 2), "a.csv", "", "refusé"))
    assert short.name == "a.csv.rapport.txt"  # a name that fits is kept as is
