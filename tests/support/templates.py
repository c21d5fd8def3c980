"""What many tests start from, built once per session and copied for each test that writes to it:
a migrated warehouse (a SQLite file; a PostgreSQL database, the template of `CREATE DATABASE`)
and the sample landing zones of `clauses.sample` (one per scale, seed and defects).

The originals are never written to: a test gets a copy (`copy_sqlite`, `create_database(...,
template=...)`, `Samples.copy`), or, when it only reads, the sample's own folder (`Samples.get`),
whose bytes are checked again at the end of the session (`Samples.check_untouched`).
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clauses.sample.generate import GenerateSummary


# ---- Warehouses ---------------------------------------------------------------------------------


def migrated_sqlite(path: Path) -> Path:
    """A SQLite warehouse at `path`, migrated to the latest revision, in one self-contained file
    (rollback journal: no -wal beside it; the pipeline's engine turns WAL on at its first
    connection, as it does for a new warehouse)."""
    from clauses.warehouse.engine import make_engine, migrate

    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    assert not path.with_name(path.name + "-wal").exists(), "the template kept a write-ahead log"
    return path


def copy_sqlite(template: Path, target: Path) -> str:
    """A copy of the SQLite warehouse `template` at `target` (created or replaced); its URL."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def _admin(server: str):  # type: ignore[no-untyped-def]
    from clauses.warehouse.engine import make_engine

    return make_engine(server).execution_options(isolation_level="AUTOCOMMIT")


def create_database(server: str, prefix: str, template: str | None = None) -> str:
    """A new database on the server of `server` (a database URL), named `prefix_<random>`:
    empty, or a copy of the database of the URL `template` (nobody may be connected to it).
    Returns its URL, in the form of `server`."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
    admin = _admin(server)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"{clause}'))
    finally:
        admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def drop_database(server: str, url: str) -> None:
    import sqlalchemy as sa

    admin = _admin(server)
    try:
        with admin.connect() as connection:
            name = url.rsplit("/", 1)[1]
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def migrated_postgres(server: str, prefix: str = "clauses_template") -> str:
    """A new database migrated to the latest revision, every connection to it closed (so that
    it can serve as a template); its URL."""
    from clauses.warehouse.engine import make_engine, migrate

    url = create_database(server, prefix)
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return url


# ---- Sample landing zones -----------------------------------------------------------------------


def tree_digest(root: Path) -> str:
    """One SHA-256 over every file's relative path and bytes under `root`."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class Samples:
    """The landing zones of `generate_sample`, each generated once under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[tuple[float, int, bool], tuple[Path, GenerateSummary, str]] = {}

    def get(self, scale: float, seed: int, defects: bool = False) -> tuple[Path, GenerateSummary]:
        """The landing zone (read it, never write to it) and the generator's summary."""
        key = (scale, seed, defects)
        if key not in self.made:
            from clauses.sample.generate import generate_sample

            landing = self.root / f"scale{scale}-seed{seed}-defects{int(defects)}" / "landing"
            summary = generate_sample(landing, scale=scale, seed=seed, defects=defects)
            self.made[key] = (landing, summary, tree_digest(landing))
        landing, summary, _ = self.made[key]
        return landing, summary

    def copy(self, target: Path, scale: float, seed: int, defects: bool = False) -> GenerateSummary:
        """A copy of the landing zone at `target` (a new folder), to write to freely."""
        landing, summary = self.get(scale, seed, defects)
        shutil.copytree(landing, target)
        return summary

    def check_untouched(self) -> None:
        changed = [
            landing for landing, _, digest in self.made.values() if tree_digest(landing) != digest
        ]
        assert not changed, f"a test wrote into a shared sample landing zone: {changed}"
