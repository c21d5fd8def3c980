"""The register of computations, each run's decisions per region, and an index for strands'
partition lookups.

One row per date D: the fingerprint of everything D's figures depend on (the files received on
or before D with their status, the rules files, the SQL of the computation), how they were
obtained (computed, or carried over from an earlier date whose figures are necessarily the
same) and when. A later run for D with the same fingerprint rewrites nothing.

`run_summaries` gains the count of strands per decision of the region and the run's compute and
publication times, filled once the figures are computed.

A strand's sources are the current partitions of its SIRET porteur and months: without an index
led by (as_of, siret_porteur), SQLite scanned every partition for every strand (8.7 s of a
9.9 s national computation).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

DECISION_COLUMNS = ("n_en_cours", "n_liberable", "n_a_examiner", "n_suspendu", "n_reversement")


def upgrade() -> None:
    op.create_table(
        "computations",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("inputs_sha256", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),  # computed | carried
        sa.Column("basis_as_of", sa.Date(), nullable=False),  # the date computed in full
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_work_partitions_porteur", "work_partitions", ["as_of", "siret_porteur", "mois"]
    )
    with op.batch_alter_table("run_summaries") as table:
        for column in DECISION_COLUMNS:
            table.add_column(sa.Column(column, sa.Integer()))
        table.add_column(sa.Column("compute_seconds", sa.Float()))
        table.add_column(sa.Column("publish_seconds", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("run_summaries") as table:
        for column in (*DECISION_COLUMNS, "compute_seconds", "publish_seconds"):
            table.drop_column(column)
    op.drop_index("ix_work_partitions_porteur", table_name="work_partitions")
    op.drop_table("computations")
