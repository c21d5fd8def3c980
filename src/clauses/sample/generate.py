"""Deterministic national sample dataset for the landing zone (data contract §1-3).

`generate_sample` writes, under ``landing_dir/<code_region>/<AAAA-MM-JJ>/``, the files a national
deployment would receive over two campaigns (millésimes 2024 and 2025, receipts from 2024-01 to
2026-03): the conventions registers of the 18 DREETS, the monthly activity exports of every
facilitator structure (Heures, Marchés, Contacts, Partenariats), their corrections, and the
intermediate and annual reports (Bilans); and the national DECP snapshots of public contracts
(contract §8), quarterly from 2024-04 to 2026-11, under ``landing_dir/decp/``.

The files deliberately exercise the reader: the column headers below are written here as literal
strings (with their spelling variants) rather than taken from `clauses.contract.kinds`, so that the
generated files test the reader independently of the contract module. Encodings, separators,
number, date and month forms, SIRETs stored as numbers, title and total rows in workbooks, several
kinds per workbook, personal-data columns... are spread over the files; `GenerateSummary.variants`
names, for each variant class, some files that carry it.

Determinism: everything is drawn from `random.Random` instances seeded from ``seed`` and a label
(never the global random state, never the wall clock); workbooks carry a fixed creation date and
xlsxwriter's fixed zip timestamps. The same ``(scale, seed, defects)`` gives byte-identical files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from clauses.contract.decp import FOLDER
from clauses.contract.kinds import (
    Kind,
)
from clauses.sample.activity import _Activity
from clauses.sample.defects import _Defects
from clauses.sample.headers import _HI_HOURS
from clauses.sample.procurement import DecpSummary, _Procurement

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


@dataclass
class GenerateSummary:
    """What `generate_sample` wrote.

    - ``files``: number of files written (defect files included);
    - ``rows_per_kind``: data rows written per kind (French kind name) in the non-defect files,
      superseded copies, corrections and re-sent copies included;
    - ``hours``: total Heures réalisées of the rows that are the truth once every correction is
      applied (what a complete load must count);
    - ``strands``: distinct (N° convention, Millésime) in the registers;
    - ``regions``: region folders written;
    - ``defects``: relative path (from ``landing_dir``) of each defect file -> expected outcome,
      ``"quarantined"`` or ``"refused"`` (only with ``defects=True``);
    - ``variants``: variant class -> relative paths of (at most 25) files carrying it;
    - ``decp``: the DECP snapshots under ``decp/`` (contract §8; `clauses.sample.procurement`):
      each file's expected outcome and rows, and what the latest snapshot holds.
    """

    files: int
    rows_per_kind: dict[str, int]
    hours: float
    strands: int
    regions: int
    defects: dict[str, str] = field(default_factory=dict)
    variants: dict[str, list[str]] = field(default_factory=dict)
    decp: DecpSummary = field(default_factory=DecpSummary)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class _Generator(_Activity, _Defects, _Procurement):
    """The whole sample: each part of the generator is a mixin of its own module."""

    def summary(self, decp: DecpSummary) -> GenerateSummary:
        hours = 0.0
        for s in self.structures:
            for rows in s.data.get(Kind.HEURES, {}).values():
                hours += sum(r[_HI_HOURS] for r in rows)
        strands = len({(st.row.num, st.row.millesime) for s in self.structures for st in s.strands})
        regions = len({p.name for p in self.landing.iterdir() if p.is_dir()} - {FOLDER})
        return GenerateSummary(
            files=self.files,
            rows_per_kind=dict(self.rows),
            hours=round(hours, 2),
            strands=strands,
            regions=regions,
            defects=dict(sorted(self.defects.items())),
            variants=dict(sorted(self.variants.items())),
            decp=decp,
        )


def generate_sample(
    landing_dir: Path,
    *,
    scale: float = 1.0,
    seed: int = 0,
    defects: bool = False,
    decp_rows: int | None = None,
) -> GenerateSummary:
    """Write a deterministic national sample dataset into ``landing_dir``.

    Files go to ``landing_dir/<code_region>/<AAAA-MM-JJ>/<name>`` where the date folder is the
    receipt date (2024-01 to 2026-03). ``scale`` multiplies the number of structures (every
    region keeps at least one); at scale 1 there are about 600 convention strands, a few hundred
    thousand Heures rows and about 15 million hours. ``defects=True`` adds, in a few regions,
    files of known defect classes named ``defaut_*`` (see ``GenerateSummary.defects``); the other
    files are the same bytes with or without defects.

    The DECP snapshots go to ``landing_dir/decp/<AAAA-MM-JJ>/`` (2024-04 to 2026-11, see
    `clauses.sample.procurement`), consistent with the Marchés and Contacts rows; their size
    follows the number of markets (``scale``), and ``decp_rows`` fills the latest one up to
    about that many rows (a national table: 2 000 000 for the bench).

    ``landing_dir`` must be absent or empty: files of an earlier run are never mixed in.
    """
    landing_dir = Path(landing_dir)
    if scale <= 0:
        raise ValueError("scale must be > 0")
    if landing_dir.exists() and any(landing_dir.iterdir()):
        raise FileExistsError(f"{landing_dir} is not empty")
    landing_dir.mkdir(parents=True, exist_ok=True)
    gen = _Generator(landing_dir, scale, seed)
    gen.build_world()
    gen.simulate()
    gen.plan()
    gen.write_conventions()
    gen.write_activity()
    gen.write_bilans()
    if defects:
        gen.write_defects()
    summary = gen.summary(gen.write_decp(decp_rows))
    log.info(
        "sample generated in %s: %d files, %d strands, %.0f hours, rows %s%s",
        landing_dir,
        summary.files,
        summary.strands,
        summary.hours,
        summary.rows_per_kind,
        f", {len(summary.defects)} defect files" if summary.defects else "",
    )
    return summary
