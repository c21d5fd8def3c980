"""The whole sample, read back by the project's reader: every file but the planted defects
reads clean, and the winning Heures partitions hold exactly the hours the generator counted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support.templates import Samples

from clauses.contract.decp import contract_key, social_consideration
from clauses.contract.identifiers import normalize_siret
from clauses.contract.kinds import Kind
from clauses.sample.generate import GenerateSummary

SCALE = 0.05
SEED = 7


@pytest.fixture(scope="module")
def sample(samples: Samples) -> tuple[Path, GenerateSummary]:
    return samples.get(SCALE, SEED, defects=True)


def test_files_read_back_clean(sample: tuple[Path, GenerateSummary]) -> None:
    """Cross-check with the project's reader: every non-defect file reads without an invalid
    value or a duplicate row, and the winning Heures partitions hold exactly ``hours``."""
    reading = pytest.importorskip("clauses.read.files")
    normalize = pytest.importorskip("clauses.check.normalize").normalize
    root, summary = sample
    marches: set[tuple[str, str | None]] = set()
    seen: set[str] = set()
    winners: dict[tuple[str, str], tuple[str, str, float]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel in summary.defects or rel in summary.decp.files:
            continue  # the DECP snapshots: tests/unit/test_sample_decp.py
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:  # the re-sent copy (doublon) counts once
            continue
        seen.add(digest)
        region, day, name = path.relative_to(root).parts
        for table in reading.read_file(path).tables:
            assert not table.missing_columns, rel
            frame = normalize(table, pseudonym_key=b"test", region=region)
            errors = [c for c in frame.columns if c.endswith("__err") and frame[c].notna().any()]
            assert not errors, (rel, errors)
            assert not frame["_duplicate"].any(), rel
            if table.kind is Kind.MARCHES:
                keys = frame["num_marche"].map(contract_key)
                marches.update(zip(frame["siret_donneur_ordre"], keys, strict=True))
            if table.kind is Kind.HEURES:
                sums = frame.groupby(["siret_porteur", "mois"])["heures_realisees"].sum()
                for (siret, month), hours in sums.items():
                    candidate = (day, name, float(hours))
                    if (siret, month) not in winners or candidate[:2] > winners[(siret, month)][:2]:
                        winners[(siret, month)] = candidate
    assert sum(w[2] for w in winners.values()) == pytest.approx(summary.hours, abs=0.01)
    # every market of the Marchés files is a contract of the latest DECP snapshot (contract §8.3)
    latest = max(rel for rel, outcome in summary.decp.files.items() if outcome == "snapshot")
    snapshot = pq.read_table(root / latest).to_pandas()
    social = snapshot["considerationsSociales"].fillna("").map(social_consideration) == True  # noqa: E712
    contracts = set(
        zip(
            normalize_siret(snapshot.loc[social, "acheteur_id"]),
            snapshot.loc[social, "id"].map(contract_key),
            strict=True,
        )
    )
    assert marches and marches <= contracts
