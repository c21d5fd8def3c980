"""Least privilege on PostgreSQL: roles to load, compute and read, and per-region reading.

Revision ID: 0003
Revises: 0002

Roles. Group roles, NOLOGIN, cluster-wide: every database of a server runs this revision (in
any order, even at the same time), so each one is created only when missing, and the
downgrade never drops them (another database may use them). An operator grants them to
login roles (README, "PostgreSQL roles"):

- `clauses_loader`: receiving and loading (clauses.load, run summaries). Reads and adds to
  the file registry (`raw_files`, `raw_loads`, their sequences), adds rows to `dq_results`
  and the `stg_` tables (COPY needs INSERT only), rewrites `run_summaries`.
- `clauses_compute`: the computation as of a date (clauses.compute, sql/). Reads the registry,
  the `stg_` tables and the reference data; rewrites `ref_rules`/`ref_rule_levels`, the `work_`
  and `mart_` tables (UPDATE only where sql/ and the explanations update: `mart_conventions`,
  `mart_rule_results`) and the register of `computations`. On PostgreSQL 17+ it also gets
  MAINTAIN on the tables it ANALYZEs; on older servers its ANALYZE is skipped with a warning
  (only an owner may), so the nightly run should still compute as the owner.
- `clauses_reader`: national reading, every region: the marts, the file registry (file names
  of `mart_files`), the reference data. Enough to publish every extract (clauses.publish).
- `clauses_regional`, and one `clauses_region_<code>` per row of `ref_regions` (the 18 codes
  of the contract), each a member of `clauses_regional`: the same tables as the reader,
  restricted by row-level security to the region(s) of the role. A login granted
  `clauses_region_11` reads Île-de-France only; one granted two region roles reads both.
  Nothing else: not the `stg_` rows (participant-level activity, and a region reads its
  conventions through `mart_conventions`), not `dq_results`, `raw_loads`, `run_summaries` or
  the `work_` tables (pipeline internals).
- `clauses_all_regions`: holds no privilege at all; its members see every row of the tables
  with row-level security (where their own privileges let them in). Loader, compute, reader
  and the owner of the tables (the migrating login) are made members.
Reference data (`ref_regions`, `dim_date`, `ref_rules`, `ref_rule_levels`) is readable by
compute, reader and every region: names of regions, the calendar and the rules' parameters
are the same for everyone. `alembic_version` is readable by loader and compute, so that a
process running as either can call clauses.warehouse.migrate() once the schema is up to date.

Row-level security, ENABLEd and FORCEd (FORCE: the owner is subject to it too, so the owner
must see everything through the policies, not through ownership), on every table that holds
rows of a region and is not loaded with COPY: `raw_files`, `run_summaries`, `work_contents`
(column `region`), `mart_files` (`region`), `mart_conventions`, `mart_regions`,
`mart_monthly_hours` (`code_region`), and `mart_rule_results`, `mart_convention_sources`,
whose region is that of their strand in `mart_conventions` (same as_of, convention,
millésime). Policies:
- `clauses_all_regions` (FOR ALL, TO clauses_all_regions): USING (true), WITH CHECK (true).
  Policies apply by role at planning time, so the owner's and the pipeline's queries get no
  filter at all: the computation runs as before, at the same speed.
- `clauses_own_region` (FOR SELECT, TO clauses_regional, where the regional group may read):
  the row's region is one of the `clauses_region_<code>` roles whose privileges the current
  user has (`pg_has_role(current_user, role, 'USAGE')`), looked up once per query in
  pg_roles; no region role, no row.
Why no row-level security on the `stg_` tables (`stg_conventions` has `code_region`):
PostgreSQL refuses COPY FROM into a table whose row security applies to the current user, and
the loader loads them with COPY; no reading role may read them anyway.

The owner of the tables must inherit `clauses_all_regions`, else FORCE would hide every row
from the pipeline: the revision grants it (the migrating login needs CREATEROLE, or ADMIN on
that role on PostgreSQL 16+), and fails if the owner still does not inherit it (NOINHERIT).
A superuser bypasses row-level security anyway.

The downgrade drops the policies, disables row-level security and revokes every grant of this
revision; the roles and their memberships stay (cluster-wide, see above). A table added by a
later revision gets its grants (and policies, if it holds rows of a region) in that revision.

SQLite has no roles: the revision does nothing there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

LOADER = "clauses_loader"
COMPUTE = "clauses_compute"
READER = "clauses_reader"
REGIONAL = "clauses_regional"
ALL_REGIONS = "clauses_all_regions"
REGION_PREFIX = "clauses_region_"
GROUPS = (LOADER, COMPUTE, READER, REGIONAL)

STAGING = (
    "stg_heures",
    "stg_marches",
    "stg_contacts",
    "stg_partenariats",
    "stg_bilans",
    "stg_conventions",
)
WORK = ("work_contents", "work_partitions", "work_strands", "work_bilans", "work_activity")
MARTS = (
    "mart_conventions",
    "mart_rule_results",
    "mart_regions",
    "mart_files",
    "mart_convention_sources",
    "mart_monthly_hours",
)
READ = "SELECT"
REWRITE = "SELECT, INSERT, DELETE"

# table -> role -> privileges: exactly what the code of each role runs (module docstring).
GRANTS: dict[str, dict[str, str]] = {
    **{t: {COMPUTE: READ, READER: READ, REGIONAL: READ} for t in ("ref_regions", "dim_date")},
    **{
        t: {COMPUTE: REWRITE, READER: READ, REGIONAL: READ}
        for t in ("ref_rules", "ref_rule_levels")
    },
    "raw_files": {LOADER: "SELECT, INSERT", COMPUTE: READ, READER: READ, REGIONAL: READ},
    "raw_loads": {LOADER: "SELECT, INSERT"},
    "dq_results": {LOADER: "INSERT"},
    **{t: {LOADER: "INSERT", COMPUTE: READ} for t in STAGING},
    "run_summaries": {LOADER: REWRITE, COMPUTE: "SELECT, UPDATE"},  # decisions, durations
    **{t: {COMPUTE: REWRITE} for t in (*WORK, "computations")},
    **{t: {COMPUTE: REWRITE, READER: READ, REGIONAL: READ} for t in MARTS},
    "alembic_version": {LOADER: READ, COMPUTE: READ},
}
UPDATED = ("mart_conventions", "mart_rule_results")  # by sql/ and compute's explanations
SEQUENCES = (("raw_files", "file_id"), ("dq_results", "id"))  # nextval() of the loader's inserts
ANALYZED = ("raw_files", *STAGING, *WORK)  # by clauses.compute

# Tables with row-level security -> column holding the region (None: the strand's region).
ROW_SECURITY: dict[str, str | None] = {
    "raw_files": "region",
    "run_summaries": "region",
    "work_contents": "region",
    "mart_files": "region",
    "mart_conventions": "code_region",
    "mart_regions": "code_region",
    "mart_monthly_hours": "code_region",
    "mart_rule_results": None,
    "mart_convention_sources": None,
}
# The region codes whose role the current user has: one scan of pg_roles per query.
USER_REGIONS = (
    f"SELECT substr(r.rolname, {len(REGION_PREFIX) + 1}) FROM pg_catalog.pg_roles r "
    f"WHERE r.rolname ~ '^{REGION_PREFIX}[0-9][0-9]$' "
    "AND pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for role in (ALL_REGIONS, *GROUPS):
        _create_role(role)
    for role in (LOADER, COMPUTE, READER):
        _grant_membership(ALL_REGIONS, role)
    codes = op.get_bind().execute(sa.text("SELECT code_region FROM ref_regions")).scalars()
    for code in sorted(codes):
        _create_role(REGION_PREFIX + code)
        _grant_membership(REGIONAL, REGION_PREFIX + code)
    _owners_see_every_region()

    schema = _current_schema()
    for role in GROUPS:
        usage = op.get_bind().execute(
            sa.text("SELECT has_schema_privilege(:role, current_schema(), 'USAGE')"),
            {"role": role},
        )
        if not usage.scalar():
            op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    for table, privileges in GRANTS.items():
        for role, what in privileges.items():
            op.execute(f"GRANT {what} ON TABLE {table} TO {role}")
    for table in UPDATED:
        op.execute(f"GRANT UPDATE ON TABLE {table} TO {COMPUTE}")
    for sequence in _sequences():
        op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {LOADER}")
    if (op.get_bind().dialect.server_version_info or (0,)) >= (17,):
        op.execute(f"GRANT MAINTAIN ON TABLE {', '.join(ANALYZED)} TO {COMPUTE}")

    for table, column in ROW_SECURITY.items():
        op.execute(
            f"CREATE POLICY {ALL_REGIONS} ON {table} FOR ALL TO {ALL_REGIONS} "
            "USING (true) WITH CHECK (true)"
        )
        if REGIONAL in GRANTS[table]:
            op.execute(
                f"CREATE POLICY clauses_own_region ON {table} FOR SELECT TO {REGIONAL} "
                f"USING ({_own_region(table, column)})"
            )
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ROW_SECURITY:
        op.execute(f"DROP POLICY IF EXISTS clauses_own_region ON {table}")
        op.execute(f"DROP POLICY IF EXISTS {ALL_REGIONS} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    roles = ", ".join(GROUPS)
    for table in GRANTS:
        op.execute(f"REVOKE ALL ON TABLE {table} FROM {roles}")
    for sequence in _sequences():
        op.execute(f"REVOKE ALL ON SEQUENCE {sequence} FROM {LOADER}")
    op.execute(f"REVOKE USAGE ON SCHEMA {_current_schema()} FROM {roles}")


def _own_region(table: str, column: str | None) -> str:
    if column is not None:
        return f"{column} IN ({USER_REGIONS})"
    return (
        f"EXISTS (SELECT 1 FROM mart_conventions c WHERE c.as_of = {table}.as_of "
        f"AND c.num_convention = {table}.num_convention AND c.millesime = {table}.millesime "
        f"AND c.code_region IN ({USER_REGIONS}))"
    )


def _create_role(role: str) -> None:
    # Another database's migration may create it between the check and CREATE ROLE.
    op.execute(
        f"""DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$"""
    )


def _grant_membership(group: str, member: str) -> None:
    op.execute(
        f"""DO $$
BEGIN
    IF NOT pg_catalog.pg_has_role('{member}', '{group}', 'MEMBER') THEN
        GRANT {group} TO {member};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$"""
    )


def _owners_see_every_region() -> None:
    """Make the owner(s) of the tables with row-level security inherit clauses_all_regions."""
    tables = ", ".join(f"'{t}'::regclass" for t in ROW_SECURITY)
    op.execute(
        f"""DO $$
DECLARE
    owner name;
BEGIN
    FOR owner IN
        SELECT DISTINCT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
        WHERE c.oid IN ({tables})
    LOOP
        IF NOT pg_catalog.pg_has_role(owner, '{ALL_REGIONS}', 'MEMBER') THEN
            BEGIN
                EXECUTE 'GRANT {ALL_REGIONS} TO ' || quote_ident(owner);
            EXCEPTION WHEN unique_violation THEN
                NULL;
            END;
        END IF;
        IF NOT pg_catalog.pg_has_role(owner, '{ALL_REGIONS}', 'USAGE') THEN
            RAISE EXCEPTION USING MESSAGE = 'the owner ' || quote_ident(owner)
                || ' of the warehouse tables does not inherit {ALL_REGIONS}: with FORCE ROW '
                || 'LEVEL SECURITY it would read no row; make it INHERIT and migrate again';
        END IF;
    END LOOP;
END $$"""
    )


def _current_schema() -> str:
    return str(op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar())


def _sequences() -> list[str]:
    query = sa.text("SELECT pg_get_serial_sequence(:table, :column)")
    bind = op.get_bind()
    return [bind.execute(query, {"table": t, "column": c}).scalar_one() for t, c in SEQUENCES]
