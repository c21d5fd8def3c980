"""The sample's public procurement (contract §8): DECP snapshots consistent with the Marchés
and Contacts rows of the world, written into `landing/decp/<AAAA-MM-JJ>/`.

What the snapshots hold (counts in `DecpSummary.latest`):
- every market of the facilitators' Marchés rows, as a contract with a social consideration
  of the same buyer, notification date and amount, its `id` often spelt otherwise (separators,
  case, spaces) but with the same letters and digits (`contract_key`);
- other contracts of the buyers met in Marchés or Contacts rows, and many of buyers no
  facilitator knows, with or without a social consideration, of every region, some below
  40 000 €, some above the European thresholds after the loi Climat et résilience;
- the region said by the buyer's region code, its department alone, a place of execution of
  each type, or nothing (unattributed); integer SIRETs and codes in some Parquet snapshots;
- several holders (the initial values repeated), modifications (modification_id ≥ 1 rows with
  other amounts) published after the contract, a few values corrected in a later snapshot and
  a few contracts removed; about 1% of rows to exclude (empty uid, invalid SIRET, bad date,
  negative or missing amount, unknown consideration item).

One snapshot a quarter from 2024-04 to 2026-10 and a last one on 2026-11-02 (so that a run as
of a date of late 2026 sees contracts notified after 2026-08-21), each holding the earlier
ones' contracts; one snapshot sent again (a `doublon`), and two that the pipeline quarantines
(no `montant` column; more than 20% of rows excluded). With `decp_rows`, the last snapshot is
filled up to about that many rows with contracts of 2019-2026 (a national table for the bench).
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clauses.contract import decp
from clauses.contract.kinds import NATURE, Kind
from clauses.sample.base import _GeneratorBase
from clauses.sample.basics import _month_start, _sub_rng
from clauses.sample.contracts import (
    ACCOMPANIED,
    CLAUSE_CONSIDERATION,
    Core,
    Timing,
    contracts_table,
    departments_of,
    draw_core,
    holder_pool,
    new_buyers,
    shares,
)
from clauses.sample.snapshots import (
    STYLES,
    SnapshotWriter,
    add_counts,
    expand,
    tally,
)

log = logging.getLogger(__name__)

# (receipt date, file name, style); the latest snapshot is the last.
SCHEDULE = (
    ("2024-04-02", "decp.parquet", "plain"),
    ("2024-07-01", "decp.parquet", "numbers"),
    ("2024-10-01", "decp-2024-10-01.csv", "csv_semicolon"),
    ("2025-01-06", "decp.parquet", "dated"),
    ("2025-04-01", "decp.parquet", "spelt"),
    ("2025-07-01", "decp_consolidees.csv", "csv_comma"),
    ("2025-10-01", "decp.parquet", "plain"),
    ("2026-01-05", "decp.parquet", "numbers"),
    ("2026-04-01", "decp.parquet", "dated"),
    ("2026-07-01", "decp.parquet", "spelt"),
    ("2026-10-01", "decp.parquet", "plain"),
    ("2026-11-02", "decp.parquet", "plain"),
)
RECEIPTS = np.array([d for d, _n, _s in SCHEDULE], dtype="datetime64[D]")
DOUBLON = (3, "2025-01-08")  # snapshot 3 received again, the same bytes
NO_AMOUNT = (5, "2025-07-15", "decp_consolidees_v2.csv")  # quarantined: no montant column
MOSTLY_EXCLUDED = (6, "2025-10-20", "decp.parquet", 0.3)  # quarantined: 30% of uids empty
# The previous snapshot again beside snapshot 8, the same day, under a name sorting before it
# ("-" before "."): received, never in force.
SAME_DAY = (8, "decp-2026-03-31.parquet", "plain")

BACKGROUND_PER_ACCOMPANIED = 8  # other contracts in the snapshots, per accompanied contract
KNOWN_BUYERS_SHARE = 0.2  # of those, the share placed by buyers met by a facilitator
HISTORY_START = np.datetime64("2023-01-01")
BENCH_HISTORY_START = np.datetime64("2019-01-01")
BENCH_BATCH = 200_000  # contracts per batch of the bench's filling: bounds the memory


@dataclass
class DecpSummary:
    """What `write_decp` wrote: each file (relative to the landing folder) with what the
    pipeline must make of it (`snapshot`; `replaced`: a snapshot received the same day as
    another whose name sorts after it; `doublon`; `quarantined`) and its rows, and the latest
    snapshot's counts per category of the sample."""

    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    latest: dict[str, int] = field(default_factory=dict)


def respell(number: str, rng: random.Random) -> str:
    """The contract number as a buyer's tool may publish it: the same letters and digits
    (`contract_key`), other separators, case or spaces."""
    parts = re.findall(r"[A-Za-z]+|\d+", number)
    u = rng.random()
    if u < 0.35:
        spelt = number
    elif u < 0.55:
        spelt = "".join(parts)
    elif u < 0.7:
        spelt = rng.choice(("/", ".", " ", "_")).join(parts)
    elif u < 0.85:
        spelt = number.lower()
    else:
        spelt = " - ".join(parts) + rng.choice(("", " "))
    assert decp.contract_key(spelt) == decp.contract_key(number)
    return spelt


class _Procurement(_GeneratorBase):
    def _np_rng(self, *labels: object) -> np.random.Generator:
        return np.random.default_rng(_sub_rng(self.seed, "decp", *labels).getrandbits(64))

    def _decp_buyers(self, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
        """Every buyer of the world (La Poste in Île-de-France), then twice as many buyers that
        no facilitator knows; `known`: met in a Marchés or Contacts row."""
        met: set[str] = set()
        for s in self.structures:
            met.update(r[2] for rows in s.data.get(Kind.MARCHES, {}).values() for r in rows)
            met.update(r[3] for rows in s.data.get(Kind.CONTACTS, {}).values() for r in rows)
        rows: dict[str, tuple[str, str, str]] = {}
        for b in self.la_poste:
            rows[b.siret] = (b.name, "11", "75")
        for region in sorted(self.buyers):
            depts = departments_of(region)
            for b in self.buyers[region]:
                if b.siret not in rows:
                    rows[b.siret] = (b.name, region, depts[int(rng.integers(0, len(depts)))])
        world = pa.table(
            {
                "siret": list(rows),
                "name": [v[0] for v in rows.values()],
                "region": [v[1] for v in rows.values()],
                "dept": [v[2] for v in rows.values()],
            }
        )
        unknown = new_buyers(rng, max(60, 2 * len(rows)), self.sirets.used | set(rows))
        known = np.array([s in met for s in rows] + [False] * len(unknown), bool)
        return pa.concat_tables([world, unknown]), known

    def _accompanied(self, buyers: pa.Table) -> Core:
        """One contract per (buyer, contract key) of the Marchés rows, in the order met."""
        rng = _sub_rng(self.seed, "decp", "numbers")
        index = {s: i for i, s in enumerate(buyers.column("siret").to_pylist())}
        seen: dict[tuple[str, str | None], tuple[int, str, date, int, str, int, bool, str]] = {}
        for s in self.structures:
            for m, rows in sorted(s.data.get(Kind.MARCHES, {}).items()):
                for r in rows:
                    buyer, num, objet, nature, clause, cents, notified = (
                        r[2], r[4], r[6], r[7], r[8], r[9], r[11]
                    )  # fmt: skip
                    key = (buyer, decp.contract_key(num))
                    if key in seen:
                        continue
                    day = notified or _month_start(m) - timedelta(days=rng.randint(10, 120))
                    spelt = respell(num, rng)
                    seen[key] = (
                        index[buyer],
                        spelt,
                        day,
                        cents,
                        CLAUSE_CONSIDERATION[clause],
                        NATURE.index(nature),
                        spelt != num,
                        objet,
                    )
        values = list(seen.values())
        n = len(values)
        return Core(
            buyer=np.array([v[0] for v in values], np.int64),
            ids=pa.array([v[1] for v in values], pa.string()),
            dates=np.array([v[2] for v in values], dtype="datetime64[D]"),
            montant=np.array([v[3] for v in values], np.int64) / 100,
            social=pa.array([v[4] for v in values], pa.string()),
            types=np.array([v[5] for v in values], np.int64),
            category=np.full(n, ACCOMPANIED),
            respelled=np.array([v[6] for v in values], bool),
            objet=pa.array([v[7] for v in values], pa.string()),
        )

    def _base_contracts(self) -> tuple[pa.Table, pa.Table, pa.Table, np.ndarray]:
        """(contracts of every snapshot in notification order, buyers, holders, known)."""
        rng = self._np_rng("base")
        buyers, known = self._decp_buyers(rng)
        accompanied = self._accompanied(buyers)
        n_bg = BACKGROUND_PER_ACCOMPANIED * len(accompanied.buyer)
        weights = rng.lognormal(0, 1.2, len(buyers))
        weights[known] *= KNOWN_BUYERS_SHARE / weights[known].sum()
        weights[~known] *= (1 - KNOWN_BUYERS_SHARE) / weights[~known].sum()
        end = RECEIPTS[-1] - np.timedelta64(10, "D")
        background = draw_core(
            rng, n_bg, first_seq=1, buyer_p=shares(weights), known=known,
            start=HISTORY_START, end=end,
        )  # fmt: skip
        n_holders = max(500, (n_bg + len(accompanied.buyer)) // 3)
        holders = holder_pool(rng, n_holders, self.sirets.used | set(buyers["siret"].to_pylist()))
        tables = [
            contracts_table(rng, accompanied, buyers, n_holders, Timing(RECEIPTS, late_share=0)),
            contracts_table(
                rng, background, buyers, n_holders,
                Timing(RECEIPTS, junk_share=0.012, fix_share=0.02, gone_share=0.005),
            ),
        ]  # fmt: skip
        contracts = pa.concat_tables(tables)
        order = pc.sort_indices(contracts, [("dateNotification", "ascending")])
        return contracts.take(order), buyers, holders, known

    def write_decp(self, decp_rows: int | None = None) -> DecpSummary:
        """Write the DECP snapshots (module docstring) into `landing/decp/`."""
        started = time.monotonic()
        contracts, buyers, holders, known = self._base_contracts()
        summary = DecpSummary()
        last = len(SCHEDULE) - 1
        previous: pa.Table | None = None
        for s, (day, name, style) in enumerate(SCHEDULE):
            rows, row_contract = expand(contracts, s, holders)
            if s == SAME_DAY[0] and previous is not None:
                copy = self._decp_path(day, SAME_DAY[1])
                assert copy < f"{decp.FOLDER}/{day}/{name}"
                with SnapshotWriter(self.landing / copy, STYLES[SAME_DAY[2]]) as early:
                    early.write(previous)
                summary.files[copy], summary.rows[copy] = "replaced", early.rows
            previous = rows
            rel = self._decp_path(day, name)
            with SnapshotWriter(self.landing / rel, STYLES[style]) as writer:
                writer.write(rows)
                if s == last:
                    summary.latest = tally(contracts, s, rows, row_contract)
                    if decp_rows is not None and decp_rows > len(rows):
                        more = self._fill(writer, decp_rows - len(rows), buyers, known)
                        summary.latest = add_counts(summary.latest, more)
            summary.files[rel], summary.rows[rel] = "snapshot", writer.rows
            if s == DOUBLON[0]:
                copy = self._decp_path(DOUBLON[1], name)
                shutil.copyfile(self.landing / rel, self.landing / copy)
                summary.files[copy], summary.rows[copy] = "doublon", writer.rows
            if s == NO_AMOUNT[0]:
                copy = self._decp_path(NO_AMOUNT[1], NO_AMOUNT[2])
                with SnapshotWriter(self.landing / copy, STYLES["csv_no_amount"]) as broken:
                    broken.write(rows)
                summary.files[copy], summary.rows[copy] = "quarantined", broken.rows
            if s == MOSTLY_EXCLUDED[0]:
                copy = self._decp_path(MOSTLY_EXCLUDED[1], MOSTLY_EXCLUDED[2])
                empty = pa.array(self._np_rng("excluded").random(len(rows)) < MOSTLY_EXCLUDED[3])
                spoilt = rows.set_column(0, "uid", pc.if_else(empty, "", rows.column("uid")))
                with SnapshotWriter(self.landing / copy, STYLES[style]) as broken:
                    broken.write(spoilt)
                summary.files[copy], summary.rows[copy] = "quarantined", broken.rows
        self.files += len(summary.files)
        log.info(
            "DECP: %d files in %.1f s, the latest with %d rows",
            len(summary.files),
            time.monotonic() - started,
            summary.latest["rows"],
        )
        return summary

    def _fill(
        self, writer: SnapshotWriter, wanted: int, buyers: pa.Table, known: np.ndarray
    ) -> dict[str, int]:
        """Fill the latest snapshot with about `wanted` more rows of contracts of 2019-2026,
        batch after batch; returns their counts."""
        rng = self._np_rng("fill")
        extra = new_buyers(rng, max(1000, wanted // 40), set(buyers["siret"].to_pylist()))
        big = pa.concat_tables([buyers, extra])
        all_known = np.concatenate([known, np.zeros(len(extra), bool)])
        weights = rng.lognormal(0, 1.2, len(big))
        holders = holder_pool(rng, max(1000, wanted // 8), set(big["siret"].to_pylist()))
        last, batch = len(SCHEDULE) - 1, 0
        counts: dict[str, int] = {}
        end = RECEIPTS[-1] - np.timedelta64(10, "D")
        timing = Timing(RECEIPTS, appear_at=last, late_share=0, junk_share=0.012)
        while wanted > 0:
            brng = self._np_rng("fill", batch)
            core = draw_core(
                brng, BENCH_BATCH, first_seq=10_000_000 + batch * BENCH_BATCH,
                buyer_p=shares(weights), known=all_known,
                start=BENCH_HISTORY_START, end=end,
            )  # fmt: skip
            contracts = contracts_table(brng, core, big, len(holders), timing)
            rows, row_contract = expand(contracts, last, holders)
            if len(rows) > wanted:  # stop at the first contract boundary past `wanted`
                cut = int(np.searchsorted(row_contract, row_contract[wanted - 1], side="right"))
                rows, row_contract = rows.slice(0, cut), row_contract[:cut]
            writer.write(rows)
            counts = add_counts(counts, tally(contracts, last, rows, row_contract))
            wanted -= len(rows)
            batch += 1
        return counts

    def _decp_path(self, day: str, name: str) -> str:
        folder = self.landing / decp.FOLDER / day
        folder.mkdir(parents=True, exist_ok=True)
        return f"{decp.FOLDER}/{day}/{name}"
