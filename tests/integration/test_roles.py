"""Least privilege on PostgreSQL (migration 0003): a region's role reads its own rows only, the
reader reads every region and writes nothing, the loader cannot touch the marts, the loader,
compute and reader logins can run their step of the pipeline, and the pipeline run by a
non-superuser owner, under FORCE ROW LEVEL SECURITY, publishes the same extracts as a run that
bypasses row security (a superuser's)."""

from __future__ import annotations

import csv
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from shutil import rmtree

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from support.decp_rows import Contract, DecpRows
from support.small_landing import (
    EXPECTED_CONVENTION_2025_03_01,
    EXPECTED_FILES_2025_03_01,
    write_small_landing,
)

from clauses.compute.figures import compute_as_of
from clauses.config import load_settings
from clauses.contract.kinds import REGIONS
from clauses.publish.tables import publish_extracts
from clauses.run.pipeline import receive_and_load, run_date
from clauses.sample.generate import generate_sample
from clauses.warehouse.engine import MIGRATIONS_DIR, make_engine, migrate

pytestmark = pytest.mark.postgres

FIRST, SECOND = date(2025, 3, 1), date(2025, 3, 15)  # region 24 receives files on 2025-03-11
KEY = "roles-test-pseudonymisation-key"
# Readable by a region's role, and how a row's region is found.
BY_REGION_COLUMN = {
    "raw_files": "region",
    "mart_files": "region",
    "mart_conventions": "code_region",
    "mart_regions": "code_region",
    "mart_monthly_hours": "code_region",
    "mart_procurement": "code_region",  # migration 0008
    "mart_procurement_buyers": "code_region",
}
BY_STRAND = ("mart_rule_results", "mart_convention_sources")
REFERENCE = ("ref_regions", "dim_date", "ref_rules", "ref_rule_levels", "ref_procurement_rules")
NATIONAL = ("mart_decp_files", "decp_files")  # the reader's, not a region's
STAGING = (
    "stg_heures",
    "stg_marches",
    "stg_contacts",
    "stg_partenariats",
    "stg_bilans",
    "stg_conventions",
)
INTERNAL = (
    "dq_results",
    "raw_loads",
    "run_summaries",
    "alembic_version",
    "work_contents",
    "computations",
)
SECURED = (*BY_REGION_COLUMN, *BY_STRAND, "run_summaries", "work_contents")
WRITES = (
    "DELETE FROM mart_conventions",
    "UPDATE mart_conventions SET decision = NULL",
    "INSERT INTO mart_monthly_hours (as_of, code_region, mois, heures) "
    "VALUES ('2025-03-01', '11', '2099-01', 1)",
    "DELETE FROM raw_files",
    "UPDATE mart_rule_results SET explanation = NULL",
)


@dataclass
class Warehouses:
    """Two warehouses of the same landing zone: `baseline` run by the superuser (row security
    bypassed), `owned` run by `owner`, a plain login owning its database and tables."""

    server: str
    baseline: str
    owned: str  # as the owner
    owned_admin: str  # the same database as the superuser
    owner: str
    baseline_dir: Path
    owned_dir: Path
    login: Callable[..., str]  # login(*roles) -> URL of a new login holding them, on `owned`


def url_for(server: str, database: str, user: str | None = None) -> str:
    url = sa.engine.make_url(server).set(database=database)
    if user:
        url = url.set(username=user, password=None)
    return url.render_as_string(hide_password=False)


def add_snapshot(url: str) -> None:
    """A DECP snapshot received on FIRST with contracts of regions 11 and 24 and an unattributed
    one, each with a social consideration and a buyer no facilitator reaches."""
    engine = make_engine(url)
    try:
        decp = DecpRows(engine)
        decp.entry(FIRST.isoformat(), "decp.parquet", "d" * 64, n_rows=3)
        decp.snapshot(
            "d" * 64,
            [
                Contract(f"u{region}", f"N{region}", f"{region:0>14}", date(2025, 2, 1), 5e4, True,
                         region=region or None, buyer_name=f"Acheteur {region}")
                for region in ("11", "24", "")
            ],
        )  # fmt: skip
    finally:
        engine.dispose()


def rows(url: str, query: str, **params: object) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(query), params)]
    finally:
        engine.dispose()


def denied(url: str, statement: str) -> bool:
    """True when PostgreSQL refuses `statement` for lack of privilege (nothing is committed)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
            connection.rollback()
    except sa.exc.ProgrammingError as error:
        return isinstance(error.orig, psycopg.errors.InsufficientPrivilege)
    finally:
        engine.dispose()
    return False


def region_rows(url: str, table: str, region: str) -> Counter:
    """Rows of `table` belonging to `region`, as the superuser sees them."""
    if table in BY_REGION_COLUMN:
        query = f"SELECT * FROM {table} WHERE {BY_REGION_COLUMN[table]} = :r"
    else:
        query = (
            f"SELECT t.* FROM {table} t JOIN mart_conventions c ON c.as_of = t.as_of "
            "AND c.num_convention = t.num_convention AND c.millesime = t.millesime "
            "WHERE c.code_region = :r"
        )
    return Counter(rows(url, query, r=region))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def csv_files(extracts: Path) -> dict[str, bytes]:
    return {p.relative_to(extracts).as_posix(): p.read_bytes() for p in extracts.rglob("*.csv")}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-computed region 11 of tests/small_landing.py, and a generated region 24."""
    folder = tmp_path_factory.mktemp("roles") / "landing"
    generate_sample(folder, scale=0.01, seed=3)
    for region in folder.iterdir():
        if region.name != "24":
            rmtree(region)
    write_small_landing(folder)
    return folder


@pytest.fixture(scope="module")
def warehouses(
    postgres_server: str, landing: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouses]:
    tag = uuid.uuid4().hex[:10]
    baseline_db, owned_db = f"clauses_test_{tag}_base", f"clauses_test_{tag}_owned"
    owner = f"t_{tag}_owner"
    logins: list[str] = []
    admin = make_engine(postgres_server).execution_options(isolation_level="AUTOCOMMIT")

    def login(*roles: str) -> str:
        name = f"t_{tag}_{len(logins)}"
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE ROLE {name} LOGIN IN ROLE {', '.join(roles)}"))
        logins.append(name)
        return url_for(postgres_server, owned_db, name)

    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{baseline_db}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{owned_db}"'))
        # The production shape: the migrating login owns the database, is no superuser, and may
        # create the cluster-wide roles (CREATEROLE).
        connection.execute(sa.text(f"CREATE ROLE {owner} LOGIN CREATEROLE"))
        connection.execute(sa.text(f'ALTER DATABASE "{owned_db}" OWNER TO {owner}'))
    try:
        found = Warehouses(
            server=postgres_server,
            baseline=url_for(postgres_server, baseline_db),
            owned=url_for(postgres_server, owned_db, owner),
            owned_admin=url_for(postgres_server, owned_db),
            owner=owner,
            baseline_dir=tmp_path_factory.mktemp("baseline"),
            owned_dir=tmp_path_factory.mktemp("owned"),
            login=login,
        )
        for folder in (found.baseline_dir, found.owned_dir):
            (folder / "landing").symlink_to(landing, target_is_directory=True)
        migrate(make_engine(found.baseline))  # the superuser creates the roles, as an admin would
        add_snapshot(found.baseline)
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("CLAUSES_PSEUDONYM_KEY", KEY)
            monkeypatch.delenv("CLAUSES_OUTBOX_TEMPLATE", raising=False)
            # The baseline first: its superuser creates the roles, as an administrator would.
            monkeypatch.setenv("CLAUSES_DATA_DIR", str(found.baseline_dir))
            monkeypatch.setenv("CLAUSES_WAREHOUSE_URL", found.baseline)
            for day in (FIRST, SECOND):
                assert not run_date(load_settings(), day, live=False).failed_regions()
            with admin.connect() as connection:
                version = int(connection.execute(sa.text("SHOW server_version_num")).scalar_one())
                if version >= 160000:
                    # CREATEROLE no longer lets the owner grant a role it did not create.
                    connection.execute(sa.text(f"GRANT clauses_all_regions TO {owner}"))
            monkeypatch.setenv("CLAUSES_DATA_DIR", str(found.owned_dir))
            monkeypatch.setenv("CLAUSES_WAREHOUSE_URL", found.owned)
            migrate(make_engine(found.owned))
            add_snapshot(found.owned_admin)
            assert not run_date(load_settings(), FIRST, live=False).failed_regions()
            # The second date by the step roles, each with its own login.
            settings = load_settings()
            loader, compute, reader = (
                make_engine(login(f"clauses_{step}")) for step in ("loader", "compute", "reader")
            )
            migrate(loader)  # up to date: a no-op the loader may run
            report = receive_and_load(settings, loader, SECOND, live=False, run_id="split")
            assert not report.failed_regions() and report.regions["24"]["loaded"] > 0
            compute_as_of(compute, SECOND)
            publish_extracts(reader, settings.extracts_dir, SECOND)
            for engine in (loader, compute, reader):
                engine.dispose()
        yield found
    finally:
        with admin.connect() as connection:
            for database in (baseline_db, owned_db):
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            for name in (*logins, owner):
                connection.execute(sa.text(f"DROP ROLE IF EXISTS {name}"))
        admin.dispose()


def test_roles_of_every_region_and_group_memberships(warehouses: Warehouses) -> None:
    members = dict(
        rows(
            warehouses.baseline,
            "SELECT r.rolname, array_agg(g.rolname ORDER BY g.rolname) FROM pg_roles r "
            "JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE r.rolname LIKE 'clauses\\_%' GROUP BY r.rolname",
        )
    )
    for code in REGIONS:
        assert members[f"clauses_region_{code}"] == ["clauses_regional"]
    for role in ("clauses_loader", "clauses_compute", "clauses_reader"):
        assert members[role] == ["clauses_all_regions"]
    logins = rows(
        warehouses.baseline,
        "SELECT rolname FROM pg_roles WHERE rolname LIKE 'clauses\\_%' AND rolcanlogin",
    )
    assert logins == []
    assert rows(
        warehouses.baseline,
        "SELECT pg_has_role(:owner, 'clauses_all_regions', 'USAGE')",
        owner=warehouses.owner,
    ) == [(True,)]


def test_owner_under_forced_row_security_publishes_the_same_extracts(
    warehouses: Warehouses,
) -> None:
    # Row security really applies to the owner's queries (a superuser's bypass it)...
    for table in SECURED:
        query = f"SELECT row_security_active('{table}'), pg_get_userbyid(relowner) FROM pg_class "
        query += f"WHERE oid = '{table}'::regclass"
        assert rows(warehouses.owned, query) == [(True, warehouses.owner)], table
        assert rows(warehouses.baseline, query)[0][0] is False
    # ... and yet the figures, rules results and files are the same, byte for byte.
    baseline = csv_files(warehouses.baseline_dir / "extracts")
    owned = csv_files(warehouses.owned_dir / "extracts")
    assert len(baseline) > 10 and owned == baseline
    for region in ("11", "24", "national"):
        for day in (FIRST, SECOND):
            assert (warehouses.owned_dir / "extracts" / region / day.isoformat()).is_dir()
    folder = warehouses.owned_dir / "extracts" / "11" / FIRST.isoformat()
    assert read_csv(folder / "conventions.csv") == [EXPECTED_CONVENTION_2025_03_01]
    statuses = {r["Fichier"]: r["Statut"] for r in read_csv(folder / "fichiers.csv")}
    assert statuses == EXPECTED_FILES_2025_03_01
    for table in (*BY_REGION_COLUMN, *BY_STRAND):
        count = f"SELECT COUNT(*) FROM {table}"
        assert rows(warehouses.owned, count) == rows(warehouses.baseline, count), table


@pytest.mark.parametrize("region", ["11", "24"])
def test_region_role_reads_its_own_rows_only(warehouses: Warehouses, region: str) -> None:
    url = warehouses.login(f"clauses_region_{region}")
    for table in (*BY_REGION_COLUMN, *BY_STRAND):
        seen = Counter(rows(url, f"SELECT * FROM {table}"))
        expected = region_rows(warehouses.owned_admin, table, region)
        everything = rows(warehouses.owned_admin, f"SELECT COUNT(*) FROM {table}")[0][0]
        assert seen and seen == expected, table
        assert everything > sum(seen.values()), table  # the other region has rows too
    for table, column in BY_REGION_COLUMN.items():
        others = f"SELECT COUNT(*) FROM {table} WHERE {column} <> :r"
        assert rows(url, others, r=region) == [(0,)], table
    for table in REFERENCE:
        assert rows(url, f"SELECT COUNT(*) FROM {table}")[0][0] > 0, table
    for table in (*STAGING, *INTERNAL, *NATIONAL, "work_strands", "decp_contracts"):
        assert denied(url, f"SELECT 1 FROM {table} LIMIT 1"), table
    for statement in WRITES:
        assert denied(url, statement), statement
    mine = rows(url, "SELECT DISTINCT code_region FROM mart_procurement")
    assert mine == [(region,)]  # not the other region's, nor the unattributed contracts


def test_two_regions_for_one_login_and_none_without_a_region(warehouses: Warehouses) -> None:
    both = warehouses.login("clauses_region_11", "clauses_region_24")
    seen = dict(rows(both, "SELECT region, COUNT(*) FROM raw_files GROUP BY region"))
    assert set(seen) == {"11", "24"}
    group_only = warehouses.login("clauses_regional")
    for table in (*BY_REGION_COLUMN, *BY_STRAND):
        assert rows(group_only, f"SELECT COUNT(*) FROM {table}") == [(0,)], table


def test_reader_reads_every_region_and_writes_nothing(warehouses: Warehouses) -> None:
    url = warehouses.login("clauses_reader")
    for table in (*BY_REGION_COLUMN, *BY_STRAND, *REFERENCE, *NATIONAL):
        every = Counter(rows(warehouses.owned_admin, f"SELECT * FROM {table}"))
        assert Counter(rows(url, f"SELECT * FROM {table}")) == every, table
    regions = rows(url, "SELECT DISTINCT code_region FROM mart_conventions ORDER BY 1")
    assert regions == [("11",), ("24",)]
    for table in (*STAGING, *INTERNAL):
        assert denied(url, f"SELECT 1 FROM {table} LIMIT 1"), table
    for statement in WRITES:
        assert denied(url, statement), statement


def test_loader_and_compute_keep_to_their_step(warehouses: Warehouses) -> None:
    loader = warehouses.login("clauses_loader")
    every = rows(warehouses.owned_admin, "SELECT COUNT(*) FROM raw_files")
    assert rows(loader, "SELECT COUNT(*) FROM raw_files") == every
    for statement in (
        *WRITES,
        "SELECT 1 FROM mart_conventions",
        "SELECT 1 FROM stg_heures",  # loads, never reads back
        "UPDATE raw_files SET reason = ''",
        "DELETE FROM stg_conventions",
        "DELETE FROM ref_rules",
    ):
        assert denied(loader, statement), statement
    compute = warehouses.login("clauses_compute")
    for statement in (
        "DELETE FROM stg_heures",
        "INSERT INTO raw_files (region) VALUES ('11')",
        "DELETE FROM raw_loads",
        "UPDATE mart_regions SET heures = 0",
        "SELECT 1 FROM dq_results",
    ):
        assert denied(compute, statement), statement


def _alembic(url: str, verb: str, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with make_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, target)


def _secured(url: str) -> list[tuple]:
    return rows(
        url,
        "SELECT c.relname, c.relforcerowsecurity, COUNT(p.polname) FROM pg_class c "
        "LEFT JOIN pg_policy p ON p.polrelid = c.oid WHERE c.relrowsecurity "
        "GROUP BY c.relname, c.relforcerowsecurity ORDER BY 1",
    )


def test_migrations_on_two_databases_twice_and_back(
    postgres_server: str, postgres_url: str
) -> None:
    """The roles already exist (cluster-wide): two databases migrate at the same time, again,
    and one goes down to 0002 and up again without touching the other."""
    other = url_for(postgres_server, f"clauses_test_{uuid.uuid4().hex[:12]}")
    admin = make_engine(postgres_server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{sa.engine.make_url(other).database}"'))
    try:
        # Processes, as two deployments would be (Alembic's context is one per process).
        code = "import sys; from clauses.warehouse.engine import make_engine, migrate; "
        code += "migrate(make_engine(sys.argv[1]))"
        migrations = [
            subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
            for url in (postgres_url, other)
        ]
        for process in migrations:
            _, errors = process.communicate(timeout=300)
            assert process.returncode == 0, errors
        migrate(make_engine(postgres_url))
        secured = _secured(postgres_url)
        assert [t for t, _, _ in secured] == sorted(SECURED)
        assert all(force for _, force, _ in secured)
        region_policies = len(BY_REGION_COLUMN) + len(BY_STRAND)
        assert sum(n for _, _, n in secured) == len(SECURED) + region_policies
        granted = "SELECT has_table_privilege('clauses_reader', 'mart_conventions', 'SELECT')"

        _alembic(postgres_url, "downgrade", "0002")
        assert _secured(postgres_url) == []
        assert rows(postgres_url, granted) == [(False,)]
        assert rows(postgres_url, "SELECT 1 FROM pg_roles WHERE rolname = 'clauses_reader'")
        assert _secured(other) == secured  # the other database keeps its roles' rights
        assert rows(other, granted) == [(True,)]

        migrate(make_engine(postgres_url))  # the roles and memberships exist: grants only
        assert _secured(postgres_url) == secured
        assert rows(postgres_url, granted) == [(True,)]
    finally:
        with admin.connect() as connection:
            database = sa.engine.make_url(other).database
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
