"""Public procurement figures as of a date (contract §8.3-8.4): the procurement rules by year,
the work tables of a computation, the marts, and two indexes of the contracts.

- `ref_procurement_rules`: the [procurement] parameters of rules/*.toml by year of notification
  (contracts are judged by the rules of the year they were notified in), with the first day of
  the year and of the next: the figures join a year's contracts by a range of their
  notification date (portable SQL has no common way to take the year of a date, and a range
  reads the index of the contracts in order, one join per year instead of one per contract).
- Work tables, living inside a computation's transaction only (as those of 0001):
  `work_decp_snapshot` (the snapshot in force: at most one row per date),
  `work_contract_keys` (the key of each N° marché of the current Marchés rows, computed in
  Python by clauses.contract.decp.contract_key: portable SQL cannot keep letters and digits),
  `work_decp_accompanied` (the contract versions a current Marchés row matches) and
  `work_reached_buyers` (the SIRETs of buyers that a current Marchés or Contacts row names).
- Marts, one set of rows per date: `mart_decp_files` (the status of each snapshot entry,
  §8.4 decp_fichiers.csv), `mart_procurement` (per region and year: the counts and sums of
  §8.3; `code_region` NULL for the unattributed contracts; the ratios are derived from them
  where they are written, clauses.publish.procurement) and `mart_procurement_buyers` (the
  buyers without a facilitator, per region and year, with their contracts and amount).
- `decp_contracts` gets two indexes: `ix_decp_contracts_figures` covers every column the
  figures read (the version too), led by the notification date, so that a date's figures read
  an index in order (no table lookups, and the contracts notified after the date are not read
  at all; the carry check of select_threshold_crossings.sql seeks a range of it) and
  `ix_decp_contracts_key` (buyer, contract key) finds the contracts a Marchés row names
  without reading the others. Both cost the loader's inserts some time (1.5 M rows).

Grants as 0003: the computation rewrites the work and mart tables and the rules; the reader
reads the marts and the rules; the regional roles read the rules and, through row-level
security like `mart_regions` (0003), the rows of `mart_procurement` and
`mart_procurement_buyers` of their own region(s) only (unattributed rows: none).
`mart_decp_files` is national (the snapshots are listed in the national extract only): the
regional roles do not read it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

COMPUTE = "clauses_compute"
READER = "clauses_reader"
REGIONAL = "clauses_regional"
ALL_REGIONS = "clauses_all_regions"
REGION_PREFIX = "clauses_region_"
READ = "SELECT"
REWRITE = "SELECT, INSERT, DELETE"

WORK = ("work_decp_snapshot", "work_contract_keys", "work_decp_accompanied", "work_reached_buyers")
REGIONAL_MARTS = ("mart_procurement", "mart_procurement_buyers")  # row security: code_region
GRANTS: dict[str, dict[str, str]] = {
    "ref_procurement_rules": {COMPUTE: REWRITE, READER: READ, REGIONAL: READ},
    **{t: {COMPUTE: REWRITE} for t in WORK},
    "mart_decp_files": {COMPUTE: REWRITE, READER: READ},
    **{t: {COMPUTE: REWRITE, READER: READ, REGIONAL: READ} for t in REGIONAL_MARTS},
}
# As 0003: the region codes whose role the current user has, one scan of pg_roles per query.
USER_REGIONS = (
    f"SELECT substr(r.rolname, {len(REGION_PREFIX) + 1}) FROM pg_catalog.pg_roles r "
    f"WHERE r.rolname ~ '^{REGION_PREFIX}[0-9][0-9]$' "
    "AND pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')"
)
VERSION_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as decp_contracts


def upgrade() -> None:
    op.create_table(
        "ref_procurement_rules",
        sa.Column("annee", sa.Integer(), primary_key=True),
        sa.Column("first_day", sa.Date(), nullable=False),  # 1 January of the year
        sa.Column("next_first_day", sa.Date(), nullable=False),  # 1 January of the next one
        sa.Column("rules_version", sa.Text(), nullable=False),
        sa.Column("decp_min_amount", sa.Float(), nullable=False),
        sa.Column("pnad_social_share_target", sa.Float(), nullable=False),
        sa.Column("eu_threshold_works", sa.Float(), nullable=False),
        sa.Column("eu_threshold_supplies_services", sa.Float(), nullable=False),
    )
    op.create_table(
        "work_decp_snapshot",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "work_contract_keys",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("num_marche", sa.Text(), primary_key=True),
        sa.Column("contract_key", sa.Text(), nullable=False),
    )
    op.create_table(
        "work_decp_accompanied",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("version_id", VERSION_ID, primary_key=True),
    )
    op.create_table(
        "work_reached_buyers",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("siret", sa.String(14), primary_key=True),
    )
    op.create_table(
        "mart_decp_files",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("file_id", sa.Integer(), primary_key=True),
        sa.Column("statut", sa.Text(), nullable=False),
    )
    op.create_table(
        "mart_procurement",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("code_region", sa.String(2)),  # NULL: the unattributed contracts
        sa.Column("annee", sa.Integer(), nullable=False),
        sa.Column("rules_version", sa.Text(), nullable=False),
        sa.Column("contrats", sa.Integer(), nullable=False),
        sa.Column("avec_consideration", sa.Integer(), nullable=False),
        sa.Column("montant", sa.Float(), nullable=False),
        sa.Column("montant_avec_consideration", sa.Float(), nullable=False),
        sa.Column("objectif_pnad", sa.Float(), nullable=False),
        sa.Column("accompagnes", sa.Integer(), nullable=False),
        sa.Column("au_dessus_seuils", sa.Integer(), nullable=False),
        sa.Column("acheteurs_sans_facilitateur", sa.Integer(), nullable=False),
    )
    op.create_index("ix_mart_procurement", "mart_procurement", ["as_of", "code_region", "annee"])
    op.create_table(
        "mart_procurement_buyers",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("code_region", sa.String(2)),  # NULL: the unattributed contracts
        sa.Column("annee", sa.Integer(), nullable=False),
        sa.Column("buyer_siret", sa.String(14), nullable=False),
        sa.Column("buyer_name", sa.Text()),
        sa.Column("contrats", sa.Integer(), nullable=False),
        sa.Column("montant", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_mart_procurement_buyers", "mart_procurement_buyers", ["as_of", "code_region", "annee"]
    )
    op.create_index(
        "ix_decp_contracts_figures",
        "decp_contracts",
        [
            "notified_on",
            "region_code",
            "amount",
            "social",
            "works",
            "buyer_siret",
            "first_snapshot",
            "last_snapshot",
            "version_id",  # SQLite's indexes hold it anyway (the rowid); PostgreSQL's need it
        ],
    )
    op.create_index("ix_decp_contracts_key", "decp_contracts", ["buyer_siret", "contract_key"])

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, privileges in GRANTS.items():
        for role, what in privileges.items():
            op.execute(f"GRANT {what} ON TABLE {table} TO {role}")
    if (bind.dialect.server_version_info or (0,)) >= (17,):  # ANALYZEd by clauses.compute
        analyzed = ", ".join((*WORK, "ref_procurement_rules"))
        op.execute(f"GRANT MAINTAIN ON TABLE {analyzed} TO {COMPUTE}")
    for table in REGIONAL_MARTS:
        op.execute(
            f"CREATE POLICY {ALL_REGIONS} ON {table} FOR ALL TO {ALL_REGIONS} "
            "USING (true) WITH CHECK (true)"
        )
        op.execute(
            f"CREATE POLICY clauses_own_region ON {table} FOR SELECT TO {REGIONAL} "
            f"USING (code_region IN ({USER_REGIONS}))"
        )
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_index("ix_decp_contracts_key", table_name="decp_contracts")
    op.drop_index("ix_decp_contracts_figures", table_name="decp_contracts")
    for table in (
        "mart_procurement_buyers",
        "mart_procurement",
        "mart_decp_files",
        *reversed(WORK),
        "ref_procurement_rules",
    ):
        op.drop_table(table)  # its grants and policies go with it
