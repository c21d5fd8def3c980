"""`clauses validate`: the facilitator's check before sending, with no warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.small_landing import write_small_landing

from clauses.cli import main


def test_exit_codes_and_french_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_small_landing(tmp_path / "landing")
    folder = tmp_path / "landing" / "11"
    good = folder / "2024-02-05" / "heures_2024-01.csv"
    broken = folder / "2024-04-02" / "heures_errone.csv"
    register = folder / "2024-01-15" / "registre_2024.csv"

    assert main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert "DÉCISION : fichier chargé." in out and "220" in out and "Nom" in out

    assert main(["validate", str(good), str(broken)]) == 1
    out = capsys.readouterr().out
    assert "mis en quarantaine" in out and "SIRET employeur" in out

    assert main(["validate", "--region", "11", str(register)]) == 0
    assert main(["validate", "--region", "24", str(register)]) == 1
    assert "code région" in capsys.readouterr().out
    assert main(["validate", str(folder / "2024-04-02" / "notice.pdf")]) == 1
