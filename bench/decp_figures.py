"""The public procurement figures of one date at national size: a synthetic snapshot of 1.5 M
contracts (decp_contracts, as the loader stores it), 30,000 current Marchés rows and 20,000
Contacts rows, then `compute_as_of` timed, in full, step by step.

    python -m bench.decp_figures [warehouse URL] [--contracts N]

Without a URL, a SQLite file in a temporary folder. The warehouse of the URL is migrated, then
filled unless it holds contracts already (measure again the one an earlier run filled); a
PostgreSQL URL names a database: use an empty one the first time.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from clauses.compute.figures import compute_as_of
from clauses.contract.kinds import REGIONS
from clauses.warehouse.engine import bulk_insert, make_engine, migrate

AS_OF = date(2026, 9, 30)
SNAPSHOT = "b" * 64
BUYERS = 80_000
MARCHES, CONTACTS = 30_000, 20_000
AT = datetime(2026, 9, 30, tzinfo=UTC)


def _siret(n: int) -> str:
    return f"{10_000_000_000_000 + n:014d}"


def fill(engine: sa.Engine, contracts: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    regions = [*REGIONS, None]
    first_day = date(2019, 1, 1)
    span = (AS_OF - first_day).days
    numbers = []
    with engine.begin() as connection:
        bulk_insert(
            connection,
            "decp_files",
            ["receipt_date", "file_name", "sha256", "status", "n_rows", "n_excluded", "reason"]
            + ["run_id", "registered_at"],
            [(date(2026, 9, 1), "decp.parquet", SNAPSHOT, "loaded", contracts, 0, "", "b", AT)],
        )
        bulk_insert(
            connection,
            "decp_snapshots",
            ["sha256", "load_id", "run_id", "loaded_at", "n_rows", "n_excluded", "n_contracts"]
            + ["versions_added", "versions_closed"],
            [(SNAPSHOT, "bench", "bench", AT, contracts, 0, contracts, contracts, 0)],
        )
        snapshot_id = connection.execute(sa.text("SELECT MAX(snapshot_id) FROM decp_snapshots"))
        sid = snapshot_id.scalar_one()

        def rows():  # type: ignore[no-untyped-def]
            for i in range(contracts):
                buyer = _siret(rng.randrange(BUYERS))
                number = f"{2019 + i % 8}-AO-{i}"
                if len(numbers) < MARCHES and rng.random() < 0.03:
                    numbers.append((buyer, f"{2019 + i % 8} ao/{i}"))
                yield (
                    f"uid{i}",
                    number,
                    number.replace("-", ""),
                    buyer,
                    f"Acheteur {buyer[-5:]}",
                    first_day + timedelta(days=rng.randrange(span + 60)),
                    round(10 ** rng.uniform(3, 7), 2),
                    rng.random() < 0.15,
                    rng.random() < 0.3,
                    rng.choice(regions),
                    i,
                    sid,
                    None,
                )

        bulk_insert(
            connection,
            "decp_contracts",
            ["uid", "contract_number", "contract_key", "buyer_siret", "buyer_name", "notified_on"]
            + ["amount", "social", "works", "region_code", "row_hash", "first_snapshot"]
            + ["last_snapshot"],
            rows(),
        )
        files = [
            ("11", "marches.csv", "m" * 64, "Marchés"),
            ("24", "contacts.csv", "c" * 64, "Contacts"),
        ]
        bulk_insert(
            connection,
            "raw_files",
            ["region", "receipt_date", "file_name", "sha256", "status", "kinds", "n_rows"]
            + ["reason", "run_id", "registered_at"],
            [
                (r, date(2026, 9, 1), n, s, "loaded", k, MARCHES, "", "b", AT)
                for r, n, s, k in files
            ],
        )
        porteurs = [_siret(900_000 + p) for p in range(200)]
        bulk_insert(
            connection,
            "stg_marches",
            ["file_sha256", "sheet", "row_number", "load_id", "siret_porteur", "mois"]
            + ["siret_donneur_ordre", "num_marche"],
            [
                ("m" * 64, None, n, "bench", porteurs[n % 200], f"2026-{1 + n % 9:02d}", b, k)
                for n, (b, k) in enumerate(numbers)
            ],
        )
        bulk_insert(
            connection,
            "stg_contacts",
            ["file_sha256", "sheet", "row_number", "load_id", "siret_porteur", "mois"]
            + ["siret_acheteur"],
            [
                (
                    "c" * 64,
                    None,
                    n,
                    "bench",
                    porteurs[n % 200],
                    f"2026-{1 + n % 9:02d}",
                    _siret(rng.randrange(BUYERS)),
                )
                for n in range(CONTACTS)
            ],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE decp_contracts"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--contracts", type=int, default=1_500_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("clauses.compute.figures").setLevel(logging.DEBUG)
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as connection:
        filled = connection.execute(sa.text("SELECT COUNT(*) FROM decp_contracts")).scalar()
    if not filled:  # a warehouse filled by an earlier run is measured again as it is
        started = time.perf_counter()
        fill(engine, args.contracts)
        print(f"filled {args.contracts} contracts in {time.perf_counter() - started:.1f} s")
    for day, force in ((AS_OF, True), (AS_OF, True), (AS_OF + timedelta(days=1), False)):
        result = compute_as_of(engine, day, force=force)
        print(f"{day} {result.mode}: {result.seconds:.2f} s")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT SUM(contrats), SUM(avec_consideration), SUM(accompagnes), "
                "SUM(au_dessus_seuils), SUM(acheteurs_sans_facilitateur), COUNT(*) "
                "FROM mart_procurement WHERE as_of = :d"
            ),
            {"d": AS_OF},
        ).one()
    print("contracts, social, accompanied, above thresholds, buyers, rows:", tuple(rows))


if __name__ == "__main__":
    main()
