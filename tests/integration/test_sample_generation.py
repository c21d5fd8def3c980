"""The sample generator over whole samples (clauses.sample.generate): the same seed gives the same
bytes, another seed other files, the defects only add files, a larger scale more of everything.
Each test generates one or two more samples beside the session's (seconds each): not unit tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from support.templates import Samples

from clauses.sample.generate import GenerateSummary, generate_sample

SCALE = 0.05
SEED = 7


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sample(samples: Samples) -> tuple[Path, GenerateSummary]:
    return samples.get(SCALE, SEED, defects=True)


def test_same_seed_gives_identical_bytes(
    sample: tuple[Path, GenerateSummary], tmp_path: Path
) -> None:
    root, summary = sample
    again = generate_sample(tmp_path / "again", scale=SCALE, seed=SEED, defects=True)
    assert _digests(tmp_path / "again") == _digests(root)
    assert again == summary


def test_other_seed_gives_other_files(sample: tuple[Path, GenerateSummary], tmp_path: Path) -> None:
    root, _summary = sample
    generate_sample(tmp_path / "other", scale=SCALE, seed=SEED + 1)
    assert _digests(tmp_path / "other") != _digests(root)


def test_defects_only_add_files(sample: tuple[Path, GenerateSummary], tmp_path: Path) -> None:
    root, summary = sample
    clean = generate_sample(tmp_path / "clean", scale=SCALE, seed=SEED)
    with_defects = _digests(root)
    for rel in summary.defects:
        del with_defects[rel]
    assert _digests(tmp_path / "clean") == with_defects
    assert clean.defects == {}
    assert clean.files == summary.files - len(summary.defects)


def test_size_scales_with_scale(sample: tuple[Path, GenerateSummary], tmp_path: Path) -> None:
    _root, small = sample
    # every region keeps at least one structure, so small scales grow less than linearly
    big = generate_sample(tmp_path / "big", scale=SCALE * 5, seed=SEED)
    assert big.strands > 2 * small.strands
    for kind in ("Heures", "Marchés", "Contacts", "Conventions"):
        assert big.rows_per_kind[kind] > 1.5 * small.rows_per_kind[kind], kind
    assert big.hours > 1.5 * small.hours
    assert big.files > small.files
