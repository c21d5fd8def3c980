"""Rows written straight into a warehouse for the public procurement tests (contract §8), until
the DECP loader lands: snapshot entries (`decp_files`), snapshots stored as versioned contracts
(`decp_snapshots`, `decp_contracts`, the way migration 0007 describes the loader's storage), and
the facilitators' Marchés and Contacts files (`raw_files`, `stg_marches`, `stg_contacts`).

`Contract` is one contract as a snapshot states it (the values §8.2 reads from its initial
rows); a test gives each snapshot as its list of contracts, and the oracle
(support/decp_oracle.py) reads those lists, never the versions stored here.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from clauses.contract.decp import contract_key

AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Contract:
    uid: str
    number: str
    buyer_siret: str
    notified_on: date
    amount: float
    social: bool
    works: bool = False
    region: str | None = "11"
    buyer_name: str | None = None

    def changed(self, **values: object) -> Contract:
        return dataclasses.replace(self, **values)  # type: ignore[arg-type]

    def row_hash(self) -> int:
        text = repr(dataclasses.astuple(self)).encode()
        return int.from_bytes(hashlib.sha256(text).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class MarchesRow:
    siret_porteur: str
    mois: str
    siret_donneur_ordre: str
    num_marche: str


@dataclass(frozen=True)
class ContactsRow:
    siret_porteur: str
    mois: str
    siret_acheteur: str


def _insert(connection: sa.Connection, table: str, rows: Sequence[dict[str, object]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    connection.execute(
        sa.text(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})"
        ),
        list(rows),
    )


class DecpRows:
    """Writes entries, snapshots and activity files into the warehouse of `engine`."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def entry(
        self,
        received: str,
        name: str,
        sha: str,
        status: str = "loaded",
        n_rows: int | None = None,
        n_excluded: int | None = 0,
        reason: str = "",
    ) -> None:
        """One entry of landing/decp/<received>/<name>, found to be `status` at first read."""
        with self.engine.begin() as connection:
            _insert(
                connection,
                "decp_files",
                [
                    {
                        "receipt_date": date.fromisoformat(received),
                        "file_name": name,
                        "sha256": sha,
                        "status": status,
                        "n_rows": n_rows,
                        "n_excluded": n_excluded if status != "refused" else None,
                        "reason": reason,
                        "report_path": None,
                        "run_id": "test",
                        "registered_at": AT,
                    }
                ],
            )

    def snapshot(self, sha: str, contracts: Iterable[Contract], n_excluded: int = 0) -> int:
        """Load a snapshot as the loader stores it: the versions of contracts that changed or
        left are closed at the previous load, the new values get versions from this one.
        Returns its snapshot_id."""
        contracts = list(contracts)
        with self.engine.begin() as connection:
            previous = connection.execute(
                sa.text("SELECT MAX(snapshot_id) FROM decp_snapshots")
            ).scalar()
            _insert(
                connection,
                "decp_snapshots",
                [
                    {
                        "sha256": sha,
                        "load_id": f"load-{sha[:8]}",
                        "run_id": "test",
                        "loaded_at": AT,
                        "n_rows": len(contracts) + n_excluded,
                        "n_excluded": n_excluded,
                        "n_contracts": len(contracts),
                        "min_amount": 0.0,
                        "versions_added": 0,
                        "versions_closed": 0,
                    }
                ],
            )
            snapshot_id = connection.execute(
                sa.text("SELECT snapshot_id FROM decp_snapshots WHERE sha256 = :sha"),
                {"sha": sha},
            ).scalar_one()
            open_versions = dict(
                connection.execute(
                    sa.text("SELECT uid, row_hash FROM decp_contracts WHERE last_snapshot IS NULL")
                ).all()
            )
            wanted = {c.uid: c for c in contracts}
            closed = [
                uid
                for uid, digest in open_versions.items()
                if uid not in wanted or wanted[uid].row_hash() != digest
            ]
            for uid in closed:
                connection.execute(
                    sa.text(
                        "UPDATE decp_contracts SET last_snapshot = :last "
                        "WHERE uid = :uid AND last_snapshot IS NULL"
                    ),
                    {"last": previous, "uid": uid},
                )
            added = [c for c in contracts if c.uid not in open_versions or c.uid in closed]
            _insert(connection, "decp_contracts", [self._version(c, snapshot_id) for c in added])
            # Each buyer's name: that of its first contract in the snapshot's order (the
            # loader's first valid initial row in file order), one version per snapshot.
            names: dict[str, str | None] = {}
            for c in contracts:
                names.setdefault(c.buyer_siret, c.buyer_name)
            _insert(
                connection,
                "decp_buyers",
                [
                    {
                        "buyer_siret": siret,
                        "buyer_name": name,
                        "row_hash": 0,
                        "first_snapshot": snapshot_id,
                        "last_snapshot": snapshot_id,
                    }
                    for siret, name in names.items()
                ],
            )
        return snapshot_id

    @staticmethod
    def _version(contract: Contract, snapshot_id: int) -> dict[str, object]:
        return {
            "uid": contract.uid,
            "contract_key": contract_key(contract.number),
            "buyer_siret": contract.buyer_siret,
            "notified_on": contract.notified_on,
            "amount": contract.amount,
            "social": contract.social,
            "works": contract.works,
            "region_code": contract.region,
            "row_hash": contract.row_hash(),
            "first_snapshot": snapshot_id,
            "last_snapshot": None,
        }

    def activity(
        self,
        region: str,
        received: str,
        name: str,
        sha: str,
        marches: Sequence[MarchesRow] = (),
        contacts: Sequence[ContactsRow] = (),
    ) -> None:
        """A loaded activity file of region `region` holding these Marchés and Contacts rows."""
        kinds = "|".join(k for k, rows in (("Marchés", marches), ("Contacts", contacts)) if rows)
        with self.engine.begin() as connection:
            _insert(
                connection,
                "raw_files",
                [
                    {
                        "region": region,
                        "receipt_date": date.fromisoformat(received),
                        "file_name": name,
                        "sha256": sha,
                        "status": "loaded",
                        "kinds": kinds,
                        "n_rows": len(marches) + len(contacts),
                        "reason": "",
                        "report_path": None,
                        "run_id": "test",
                        "registered_at": AT,
                    }
                ],
            )
            lineage = {"file_sha256": sha, "load_id": f"load-{sha[:8]}"}
            _insert(
                connection,
                "stg_marches",
                [
                    {
                        **lineage,
                        "sheet": "Marchés",
                        "row_number": n,
                        "siret_porteur": r.siret_porteur,
                        "mois": r.mois,
                        "siret_donneur_ordre": r.siret_donneur_ordre,
                        "type_donneur_ordre": "Collectivité territoriale",
                        "num_marche": r.num_marche,
                        "num_lot": None,
                        "objet": "Travaux",
                        "nature": "Travaux",
                        "type_clause": "Condition d'exécution",
                        "montant_ht_cents": 10_000_000,
                        "heures_prevues": 100.0,
                        "date_notification": None,
                        "grand_projet": None,
                    }
                    for n, r in enumerate(marches, start=1)
                ],
            )
            _insert(
                connection,
                "stg_contacts",
                [
                    {
                        **lineage,
                        "sheet": "Contacts",
                        "row_number": n,
                        "siret_porteur": r.siret_porteur,
                        "mois": r.mois,
                        "date_contact": date.fromisoformat(r.mois + "-01"),
                        "siret_acheteur": r.siret_acheteur,
                        "type_donneur_ordre": "Collectivité territoriale",
                        "objet": None,
                    }
                    for n, r in enumerate(contacts, start=1)
                ],
            )
