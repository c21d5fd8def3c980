"""Initial warehouse: reference data, file registry, staging facts, quality results, marts.

Revision ID: 0001
Revises:
"""

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

LINEAGE = (
    ("file_sha256", sa.String(64)),
    ("sheet", sa.Text()),
    ("row_number", sa.Integer()),
    ("load_id", sa.String(36)),
)

STAGING: dict[str, list[sa.Column]] = {
    "stg_heures": [
        sa.Column("siret_porteur", sa.String(14)),
        sa.Column("mois", sa.String(7)),
        sa.Column("code_operation", sa.Text()),
        sa.Column("num_marche", sa.Text()),
        sa.Column("num_lot", sa.Text()),
        sa.Column("siret_donneur_ordre", sa.String(14)),
        sa.Column("type_donneur_ordre", sa.Text()),
        sa.Column("siret_employeur", sa.String(14)),
        sa.Column("type_employeur", sa.Text()),
        sa.Column("participant_hash", sa.String(64)),
        sa.Column("public_prioritaire", sa.Text()),
        sa.Column("modalite", sa.Text()),
        sa.Column("heures_realisees", sa.Float()),
        sa.Column("heures_formation", sa.Float()),
        sa.Column("sexe", sa.Text()),
        sa.Column("annee_naissance", sa.Integer()),
    ],
    "stg_marches": [
        sa.Column("siret_porteur", sa.String(14)),
        sa.Column("mois", sa.String(7)),
        sa.Column("siret_donneur_ordre", sa.String(14)),
        sa.Column("type_donneur_ordre", sa.Text()),
        sa.Column("num_marche", sa.Text()),
        sa.Column("num_lot", sa.Text()),
        sa.Column("objet", sa.Text()),
        sa.Column("nature", sa.Text()),
        sa.Column("type_clause", sa.Text()),
        sa.Column("montant_ht_cents", sa.BigInteger()),
        sa.Column("heures_prevues", sa.Float()),
        sa.Column("date_notification", sa.Date()),
        sa.Column("grand_projet", sa.Text()),
    ],
    "stg_contacts": [
        sa.Column("siret_porteur", sa.String(14)),
        sa.Column("mois", sa.String(7)),
        sa.Column("date_contact", sa.Date()),
        sa.Column("siret_acheteur", sa.String(14)),
        sa.Column("type_donneur_ordre", sa.Text()),
        sa.Column("objet", sa.Text()),
    ],
    "stg_partenariats": [
        sa.Column("siret_porteur", sa.String(14)),
        sa.Column("mois", sa.String(7)),
        sa.Column("date_partenariat", sa.Date()),
        sa.Column("partenaire", sa.Text()),
        sa.Column("siret_partenaire", sa.String(14)),
        sa.Column("type_partenaire", sa.Text()),
        sa.Column("objet", sa.Text()),
    ],
    "stg_bilans": [
        sa.Column("siret_porteur", sa.String(14)),
        sa.Column("num_convention", sa.Text()),
        sa.Column("millesime", sa.Integer()),
        sa.Column("type_bilan", sa.Text()),
        sa.Column("date_bilan", sa.Date()),
        sa.Column("heures_insertion", sa.Float()),
        sa.Column("beneficiaires", sa.Float()),
        sa.Column("beneficiaires_etp", sa.Float()),
        sa.Column("structures_inclusives", sa.Float()),
        sa.Column("contacts_acheteurs", sa.Float()),
        sa.Column("marches_accompagnes", sa.Float()),
        sa.Column("partenariats", sa.Float()),
        sa.Column("bilan_qualitatif", sa.Text()),
    ],
    "stg_conventions": [
        sa.Column("num_convention", sa.Text()),
        sa.Column("millesime", sa.Integer()),
        sa.Column("code_region", sa.String(2)),
        sa.Column("siret_porteur", sa.String(14)),
        sa.Column("raison_sociale", sa.Text()),
        sa.Column("categorie_juridique", sa.String(4)),
        sa.Column("volet", sa.Text()),
        sa.Column("etp_conventionnes", sa.Float()),
        sa.Column("date_debut", sa.Date()),
        sa.Column("date_fin", sa.Date()),
        sa.Column("date_recrutement", sa.Date()),
        sa.Column("cout_total_cents", sa.BigInteger()),
        sa.Column("subvention_etat_cents", sa.BigInteger()),
        sa.Column("cofinancements_cents", sa.BigInteger()),
        sa.Column("cofinanceurs", sa.Text()),
        sa.Column("financements_preexistants_cents", sa.BigInteger()),
        sa.Column("date_signature", sa.Date()),
        sa.Column("avance_versee_cents", sa.BigInteger()),
        sa.Column("num_avenant", sa.Integer()),
        sa.Column("objectif_heures", sa.Float()),
        sa.Column("objectif_beneficiaires", sa.Float()),
        sa.Column("objectif_beneficiaires_etp", sa.Float()),
        sa.Column("objectif_structures_inclusives", sa.Float()),
        sa.Column("objectif_contacts_acheteurs", sa.Float()),
        sa.Column("objectif_marches_accompagnes", sa.Float()),
        sa.Column("objectif_partenariats", sa.Float()),
    ],
}
PARTITIONED = ("stg_heures", "stg_marches", "stg_contacts", "stg_partenariats")

REGIONS = [
    ("01", "Guadeloupe", "DEETS"),
    ("02", "Martinique", "DEETS"),
    ("03", "Guyane", "DGCOPOP"),
    ("04", "La Réunion", "DEETS"),
    ("06", "Mayotte", "DEETS"),
    ("11", "Île-de-France", "DRIEETS"),
    ("24", "Centre-Val de Loire", "DREETS"),
    ("27", "Bourgogne-Franche-Comté", "DREETS"),
    ("28", "Normandie", "DREETS"),
    ("32", "Hauts-de-France", "DREETS"),
    ("44", "Grand Est", "DREETS"),
    ("52", "Pays de la Loire", "DREETS"),
    ("53", "Bretagne", "DREETS"),
    ("75", "Nouvelle-Aquitaine", "DREETS"),
    ("76", "Occitanie", "DREETS"),
    ("84", "Auvergne-Rhône-Alpes", "DREETS"),
    ("93", "Provence-Alpes-Côte d'Azur", "DREETS"),
    ("94", "Corse", "DREETS"),
]


def _calendar_rows():
    day, end, epoch = date(1990, 1, 1), date(2100, 12, 31), date(1970, 1, 1)
    while day <= end:
        nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        days_in_month = (nxt - date(day.year, day.month, 1)).days
        yield {
            "day": day,
            "day_number": (day - epoch).days,
            "month_key": f"{day.year:04d}-{day.month:02d}",
            "month_number": day.year * 12 + day.month - 1,
            "day_of_month": day.day,
            "days_in_month": days_in_month,
        }
        day += timedelta(days=1)


def _insert_calendar(calendar: sa.Table) -> None:
    """The calendar's 40,543 days: one COPY on PostgreSQL (an INSERT a row took most of a new
    warehouse's migration, two seconds), the driver's executemany on SQLite."""
    rows = list(_calendar_rows())
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.bulk_insert(calendar, rows)
        return
    columns = list(rows[0])
    driver = bind.connection.driver_connection
    assert driver is not None  # a live connection, in the migration's transaction
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY dim_date ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row[column] for column in columns])


def upgrade() -> None:
    regions = op.create_table(
        "ref_regions",
        sa.Column("code_region", sa.String(2), primary_key=True),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
    )
    names = ("code_region", "nom", "service")
    op.bulk_insert(regions, [dict(zip(names, r, strict=True)) for r in REGIONS])

    calendar = op.create_table(
        "dim_date",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("day_number", sa.Integer(), nullable=False),
        sa.Column("month_key", sa.String(7), nullable=False),
        sa.Column("month_number", sa.Integer(), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.Column("days_in_month", sa.Integer(), nullable=False),
    )
    _insert_calendar(calendar)
    op.create_index("ix_dim_date_month", "dim_date", ["month_number", "day_of_month"])

    op.create_table(
        "ref_rules",
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("rules_version", sa.Text(), nullable=False),
        sa.Column("rate_default_bp", sa.Integer(), nullable=False),
        sa.Column("rate_local_authority_bp", sa.Integer(), nullable=False),
        sa.Column("min_etp", sa.Float(), nullable=False),
        sa.Column("funding_gap_tolerance_cents", sa.Integer(), nullable=False),
        sa.Column("interim_report_months", sa.Integer(), nullable=False),
        sa.Column("annual_report_tolerance", sa.Float(), nullable=False),
        sa.Column("attainment_threshold", sa.Float(), nullable=False),
    )
    op.create_table(
        "ref_rule_levels",
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("rule_id", sa.String(3), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
    )

    op.create_table(
        "raw_files",
        sa.Column("file_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(2), nullable=False),
        sa.Column("receipt_date", sa.Date(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kinds", sa.Text(), nullable=False),
        sa.Column("n_rows", sa.Integer()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("report_path", sa.Text()),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "region", "receipt_date", "file_name", "sha256", name="uq_raw_files_entry"
        ),
    )
    op.create_index("ix_raw_files_sha256", "raw_files", ["sha256"])
    op.create_table(
        "raw_loads",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("load_id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
    )
    op.create_table(
        "dq_results",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sheet", sa.Text()),
        sa.Column("expectation", sa.Text(), nullable=False),
        sa.Column("column_name", sa.Text()),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("element_count", sa.Integer()),
        sa.Column("unexpected_count", sa.Integer()),
        sa.Column("examples", sa.Text()),
        sa.Column("run_id", sa.Text(), nullable=False),
    )
    op.create_index("ix_dq_results_sha256", "dq_results", ["sha256"])

    for table, columns in STAGING.items():
        lineage = [sa.Column(name, type_, nullable=name == "sheet") for name, type_ in LINEAGE]
        op.create_table(table, *lineage, *columns)
        op.create_index(f"ix_{table}_file", table, ["file_sha256"])
        if table in PARTITIONED:
            op.create_index(f"ix_{table}_partition", table, ["siret_porteur", "mois"])
    op.create_index("ix_stg_conventions_key", "stg_conventions", ["num_convention", "millesime"])
    op.create_index("ix_stg_bilans_key", "stg_bilans", ["num_convention", "millesime"])

    # Work tables of one computation as of a date: filled and emptied inside its transaction.
    op.create_table(
        "work_contents",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("receipt_date", sa.Date(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("region", sa.String(2), nullable=False),
    )
    op.create_table(
        "work_partitions",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("siret_porteur", sa.String(14), primary_key=True),
        sa.Column("mois", sa.String(7), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "work_strands",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("num_convention", sa.Text(), primary_key=True),
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sheet", sa.Text()),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("siret_porteur", sa.String(14), nullable=False),
        sa.Column("volet", sa.Text(), nullable=False),
        sa.Column("mois_debut", sa.String(7), nullable=False),
        sa.Column("mois_fin", sa.String(7), nullable=False),
        sa.Column("days_in_post", sa.Integer(), nullable=False),
        sa.Column("days_total", sa.Integer(), nullable=False),
        sa.Column("interim_deadline", sa.Date(), nullable=False),
    )
    op.create_table(
        "work_bilans",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("num_convention", sa.Text(), primary_key=True),
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("type_bilan", sa.Text(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sheet", sa.Text()),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("first_receipt_date", sa.Date(), nullable=False),
        sa.Column("heures_insertion", sa.Float()),
        sa.Column("beneficiaires", sa.Float()),
    )
    op.create_table(
        "work_activity",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("num_convention", sa.Text(), primary_key=True),
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("heures", sa.Float(), nullable=False),
        sa.Column("beneficiaires", sa.Integer(), nullable=False),
        sa.Column("structures_inclusives", sa.Integer(), nullable=False),
        sa.Column("contacts_acheteurs", sa.Integer(), nullable=False),
        sa.Column("marches_accompagnes", sa.Integer(), nullable=False),
        sa.Column("partenariats", sa.Integer(), nullable=False),
    )
    # "Is this file still current?" (mart_files, sources) looks work tables up by content.
    for table in ("work_partitions", "work_strands", "work_bilans"):
        op.create_index(f"ix_{table}_sha256", table, ["as_of", "sha256"])
    op.create_table(
        "mart_files",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("file_id", sa.Integer(), primary_key=True),
        sa.Column("region", sa.String(2), nullable=False),
        sa.Column("statut", sa.Text(), nullable=False),
    )
    op.create_table(
        "mart_conventions",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("num_convention", sa.Text(), primary_key=True),
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("code_region", sa.String(2), nullable=False),
        sa.Column("siret_porteur", sa.String(14), nullable=False),
        sa.Column("raison_sociale", sa.Text(), nullable=False),
        sa.Column("categorie_juridique", sa.String(4), nullable=False),
        sa.Column("volet", sa.Text(), nullable=False),
        sa.Column("num_avenant", sa.Integer(), nullable=False),
        sa.Column("date_debut", sa.Date(), nullable=False),
        sa.Column("date_fin", sa.Date(), nullable=False),
        sa.Column("date_recrutement", sa.Date()),
        sa.Column("etp_conventionnes", sa.Float(), nullable=False),
        sa.Column("fraction_en_poste", sa.Float(), nullable=False),
        sa.Column("etp_en_poste", sa.Float(), nullable=False),
        sa.Column("heures", sa.Float()),
        sa.Column("beneficiaires", sa.Integer()),
        sa.Column("beneficiaires_etp", sa.Float()),
        sa.Column("structures_inclusives", sa.Integer()),
        sa.Column("contacts_acheteurs", sa.Integer()),
        sa.Column("marches_accompagnes", sa.Integer()),
        sa.Column("partenariats", sa.Integer()),
        sa.Column("heures_par_etp", sa.Float()),
        sa.Column("beneficiaires_par_etp", sa.Float()),
        sa.Column("beneficiaires_etp_par_etp", sa.Float()),
        sa.Column("structures_inclusives_par_etp", sa.Float()),
        sa.Column("contacts_acheteurs_par_etp", sa.Float()),
        sa.Column("marches_accompagnes_par_etp", sa.Float()),
        sa.Column("partenariats_par_etp", sa.Float()),
        sa.Column("atteinte_globale", sa.Float()),
        sa.Column("objectif_heures", sa.Float()),
        sa.Column("objectif_beneficiaires", sa.Float()),
        sa.Column("objectif_beneficiaires_etp", sa.Float()),
        sa.Column("objectif_structures_inclusives", sa.Float()),
        sa.Column("objectif_contacts_acheteurs", sa.Float()),
        sa.Column("objectif_marches_accompagnes", sa.Float()),
        sa.Column("objectif_partenariats", sa.Float()),
        sa.Column("cout_total_cents", sa.BigInteger(), nullable=False),
        sa.Column("subvention_etat_cents", sa.BigInteger(), nullable=False),
        sa.Column("cofinancements_cents", sa.BigInteger(), nullable=False),
        sa.Column("financements_preexistants_cents", sa.BigInteger()),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("subvention_eligible_cents", sa.BigInteger(), nullable=False),
        sa.Column("avance_versee_cents", sa.BigInteger(), nullable=False),
        sa.Column("solde_theorique_cents", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.Text()),
        sa.Column("montant_propose_cents", sa.BigInteger()),
        sa.Column("regles_en_echec", sa.Text()),
        sa.Column("rules_version", sa.Text(), nullable=False),
    )
    op.create_index("ix_mart_conventions_region", "mart_conventions", ["as_of", "code_region"])
    op.create_table(
        "mart_rule_results",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("num_convention", sa.Text(), primary_key=True),
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("rule_id", sa.String(3), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("measured_num", sa.Float()),
        sa.Column("expected_num", sa.Float()),
        sa.Column("measured_date", sa.Date()),
        sa.Column("expected_date", sa.Date()),
        sa.Column("measured_num2", sa.Float()),
        sa.Column("expected_num2", sa.Float()),
        sa.Column("measured_text", sa.Text()),
        sa.Column("expected_text", sa.Text()),
        sa.Column("explanation", sa.Text()),
    )
    op.create_table(
        "mart_convention_sources",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("num_convention", sa.Text(), primary_key=True),
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
    )
    op.create_table(
        "mart_regions",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("code_region", sa.String(2), primary_key=True),
        sa.Column("millesime", sa.Integer(), primary_key=True),
        sa.Column("conventions", sa.Integer(), nullable=False),
        sa.Column("etp_conventionnes", sa.Float(), nullable=False),
        sa.Column("etp_en_poste", sa.Float(), nullable=False),
        sa.Column("heures", sa.Float(), nullable=False),
        sa.Column("beneficiaires", sa.Integer(), nullable=False),
        sa.Column("beneficiaires_etp", sa.Float(), nullable=False),
        sa.Column("structures_inclusives", sa.Integer(), nullable=False),
        sa.Column("contacts_acheteurs", sa.Integer(), nullable=False),
        sa.Column("marches_accompagnes", sa.Integer(), nullable=False),
        sa.Column("partenariats", sa.Integer(), nullable=False),
        sa.Column("subvention_eligible_cents", sa.BigInteger(), nullable=False),
        sa.Column("avance_versee_cents", sa.BigInteger(), nullable=False),
        sa.Column("solde_liberable_cents", sa.BigInteger(), nullable=False),
        sa.Column("solde_a_examiner_cents", sa.BigInteger(), nullable=False),
        sa.Column("solde_suspendu_cents", sa.BigInteger(), nullable=False),
        sa.Column("reversement_cents", sa.BigInteger(), nullable=False),
        sa.Column("n_en_cours", sa.Integer(), nullable=False),
        sa.Column("n_liberable", sa.Integer(), nullable=False),
        sa.Column("n_a_examiner", sa.Integer(), nullable=False),
        sa.Column("n_suspendu", sa.Integer(), nullable=False),
        sa.Column("n_reversement", sa.Integer(), nullable=False),
    )
    op.create_table(
        "mart_monthly_hours",
        sa.Column("as_of", sa.Date(), primary_key=True),
        sa.Column("code_region", sa.String(2), primary_key=True),
        sa.Column("mois", sa.String(7), primary_key=True),
        sa.Column("heures", sa.Float(), nullable=False),
    )
    op.create_table(
        "run_summaries",
        sa.Column("run_id", sa.Text(), primary_key=True),
        sa.Column("region", sa.String(8), primary_key=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("files_received", sa.Integer(), nullable=False),
        sa.Column("files_loaded", sa.Integer(), nullable=False),
        sa.Column("files_quarantined", sa.Integer(), nullable=False),
        sa.Column("files_refused", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "run_summaries",
        "mart_monthly_hours",
        "mart_files",
        "work_activity",
        "work_bilans",
        "work_strands",
        "work_partitions",
        "work_contents",
        "mart_regions",
        "mart_convention_sources",
        "mart_rule_results",
        "mart_conventions",
        *reversed(list(STAGING)),
        "dq_results",
        "raw_loads",
        "raw_files",
        "ref_rule_levels",
        "ref_rules",
        "dim_date",
        "ref_regions",
    ):
        op.drop_table(table)
