"""Public procurement snapshots (contract §8.1): their entries, their loads, and the contracts
they hold, stored as versions valid over an interval of snapshots.

- `decp_files`: one row per entry of `landing/decp/<date>/`, as `raw_files` is for the regions:
  what the entry was found to be when it was read (`loaded`, `quarantined`, `refused`), its rows
  read and excluded, and its reason in French. Whether an entry is a copy (`doublon`), in force
  (`chargé`) or replaced (`remplacé`) as of a date is decided by the computation of that date
  from the receipt dates and names (contract §1, §8.1).
- `decp_snapshots`: one row per content loaded (its SHA-256). `snapshot_id` grows with each load
  and is the axis of the versions' intervals.
- `decp_contracts`: one row per version of a contract (a `uid` with the values §8.2 reads from
  its initial rows, `row_hash` their 64-bit digest). A version holds for every snapshot from
  `first_snapshot` to `last_snapshot`; `last_snapshot` NULL means "still in the latest load".
  Loading a snapshot closes the versions that changed or left (last_snapshot = the previous
  load) and adds the new ones: a contract unchanged across fifty snapshots is one row, and a
  snapshot where 1% of contracts changed adds about 1% of rows. The contracts of snapshot s are
  those with first_snapshot <= s and (last_snapshot IS NULL or last_snapshot >= s); this holds
  in whatever order snapshots are loaded (only compactness depends on it).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

LOADER = "clauses_loader"
COMPUTE = "clauses_compute"
READER = "clauses_reader"
SERIALS = (
    ("decp_files", "file_id"),
    ("decp_snapshots", "snapshot_id"),
    ("decp_contracts", "version_id"),
)


def upgrade() -> None:
    op.create_table(
        "decp_files",
        sa.Column("file_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("receipt_date", sa.Date(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),  # empty: refused unread
        sa.Column("status", sa.String(16), nullable=False),  # loaded | quarantined | refused
        sa.Column("n_rows", sa.Integer()),  # rows read (None: not read)
        sa.Column("n_excluded", sa.Integer()),  # rows excluded by the row rules
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("report_path", sa.Text()),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("receipt_date", "file_name", "sha256", name="uq_decp_files_entry"),
    )
    op.create_index("ix_decp_files_sha256", "decp_files", ["sha256"])
    op.create_table(
        "decp_snapshots",
        sa.Column("snapshot_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("load_id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_excluded", sa.Integer(), nullable=False),
        sa.Column("n_contracts", sa.Integer(), nullable=False),
        sa.Column("versions_added", sa.Integer(), nullable=False),
        sa.Column("versions_closed", sa.Integer(), nullable=False),
    )
    op.create_table(
        "decp_contracts",
        sa.Column(
            "version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("contract_number", sa.Text()),  # `id` as published
        sa.Column("contract_key", sa.Text()),  # its letters and digits, upper-cased (§8.3)
        sa.Column("buyer_siret", sa.String(14), nullable=False),
        sa.Column("buyer_name", sa.Text()),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),  # euros excluding tax
        sa.Column("social", sa.Boolean(), nullable=False),  # at least one social consideration
        sa.Column("works", sa.Boolean(), nullable=False),  # `type` says Travaux
        sa.Column("region_code", sa.String(2)),  # None: unattributed (§8.2)
        sa.Column("row_hash", sa.BigInteger(), nullable=False),
        sa.Column("first_snapshot", sa.Integer(), nullable=False),
        sa.Column("last_snapshot", sa.Integer()),
    )
    op.create_index("ix_decp_contracts_open", "decp_contracts", ["last_snapshot"])
    op.create_index("ix_decp_contracts_first", "decp_contracts", ["first_snapshot"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # roles of 0003
        op.execute(f"GRANT SELECT, INSERT ON TABLE decp_files, decp_snapshots TO {LOADER}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON TABLE decp_contracts TO {LOADER}")
        for table, column in SERIALS:
            sequence = bind.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table, "column": column},
            ).scalar_one()
            op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {LOADER}")
        op.execute(f"GRANT SELECT ON TABLE decp_files, decp_snapshots, decp_contracts TO {COMPUTE}")
        op.execute(f"GRANT SELECT ON TABLE decp_files TO {READER}")


def downgrade() -> None:
    op.drop_table("decp_contracts")
    op.drop_table("decp_snapshots")
    op.drop_table("decp_files")
