"""Versioned rules: the defaults, a millésime's own file, and what a new version changes."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from clauses.compute.rules import rules_for
from clauses.config import RULES_DIR


def test_defaults_are_the_contract() -> None:
    rules = rules_for(2024)
    assert (rules.rate_default_bp, rules.rate_local_authority_bp) == (7000, 8000)
    assert rules.funding_gap_tolerance_cents == 100 and rules.min_etp == 0.5
    assert rules.interim_report_months == 7 and rules.attainment_threshold == 0.8
    assert {r for r, level in rules.levels.items() if level == "blocking"} == {"R03", "R04", "R06"}


def test_a_millesime_file_overrides_only_what_it_says(tmp_path: Path) -> None:
    shutil.copy(RULES_DIR / "default.toml", tmp_path / "default.toml")
    (tmp_path / "2026.toml").write_text('version = "dreets-2026"\n[amounts]\nrate_default = 0.75\n')
    assert rules_for(2026, tmp_path).rate_default_bp == 7500
    assert rules_for(2026, tmp_path).rate_local_authority_bp == 8000
    assert rules_for(2025, tmp_path).version == "contrat-1.1"


def test_explanations_quote_the_numbers_of_the_rules_in_force() -> None:
    """A millésime whose rules change R05's deadline or R07's tolerance is explained with its
    own numbers, not the defaults'."""
    from dataclasses import replace

    from clauses.compute.explanations import describe

    row = {
        "measured_num": 900.0,
        "expected_num": 1000.0,
        "measured_num2": 3.0,
        "expected_num2": 3.0,
        "measured_date": None,
        "expected_date": date(2024, 8, 1),
    }
    default = rules_for(2024)
    assert "dans les 7 mois" in describe("R05", row, default)[2]
    assert "(écart ≤ 5 %)" in describe("R07", row, default)[1]
    changed = replace(default, interim_report_months=6, annual_report_tolerance=0.025)
    assert "dans les 6 mois" in describe("R05", row, changed)[2]
    measured, expected, explanation = describe("R07", row, changed)
    assert "(écart ≤ 2,5 %)" in expected and "de plus de 2,5 % du détail" in explanation
