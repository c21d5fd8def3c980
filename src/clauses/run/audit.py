"""`clauses explain` and `clauses diff`: how an amount, or a region's share of public contracts
with a social consideration, was obtained, and what changed between two dates. They read the
mart tables of the dates concerned, computing a date first if needed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.compute.figures import compute_as_of, prepare_procurement_matches
from clauses.compute.rules import rules_for
from clauses.config import RULES_DIR
from clauses.contract.french import euros, french_date, french_number
from clauses.contract.kinds import REGIONS
from clauses.contract.vocabulary import Level
from clauses.publish.cells import Fmt
from clauses.publish.procurement import FIGURE_COLUMNS, figure_values
from clauses.warehouse.engine import as_date, sql_query

STATUS_LABELS = {"passed": "respectée", "failed": "EN ÉCHEC", "not_evaluated": "non évaluée"}


def ensure_computed(engine: Engine, as_of: date, rules_dir: Path = RULES_DIR) -> None:
    """Make the figures of `as_of` current (nothing is written when a run already did)."""
    compute_as_of(engine, as_of, rules_dir)


def _cents(value: Any) -> float | None:
    return None if value is None else int(value) / 100


def explain(engine: Engine, num_convention: str, millesime: int, as_of: date) -> str:
    """Every figure of one strand as of a date, with its inputs, rules and source files."""
    ensure_computed(engine, as_of)
    key = {"as_of": as_of, "num_convention": num_convention, "millesime": millesime}
    with engine.connect() as connection:
        strand = connection.execute(sql_query("select_convention_strand"), key).mappings().first()
        if strand is None:
            return f"Convention {num_convention} ({millesime}) inconnue au {french_date(as_of)}.\n"
        rules = connection.execute(sql_query("select_strand_rule_results"), key).mappings().all()
        sources = _sources(connection, key)
    s = strand
    days_total = (s["date_fin"] - s["date_debut"]).days + 1 if _is_date(s["date_fin"]) else None
    lines = [
        f"Convention {s['num_convention']}, millésime {s['millesime']}, volet {s['volet']} "
        f"(avenant n° {s['num_avenant']}) ; situation au {french_date(as_of)}",
        f"Porteur : {s['raison_sociale']} (SIRET {s['siret_porteur']}, catégorie juridique "
        f"{s['categorie_juridique']}) ; région {s['code_region']} ; règles {s['rules_version']}",
        "",
        "Poste",
        f"  Période : du {french_date(s['date_debut'])} au {french_date(s['date_fin'])}"
        + (f" ({days_total} jours)" if days_total else ""),
        f"  Recrutement : {french_date(s['date_recrutement']) or 'aucun'}",
        f"  Fraction en poste f = {french_number(s['fraction_en_poste'], 6)} ; ETP conventionnés "
        f"{french_number(s['etp_conventionnes'], 4)} × f = ETP en poste "
        f"{french_number(s['etp_en_poste'], 4)}",
    ]
    if s["volet"] == "facilitateur":
        lines += ["", "Activité réalisée (détail mensuel en vigueur à la date)"]
        for label, total, per, decimals in (
            ("Heures d'insertion", "heures", "heures_par_etp", 2),
            ("Bénéficiaires", "beneficiaires", "beneficiaires_par_etp", 0),
            (
                "Bénéficiaires ETP (heures / 1 607)",
                "beneficiaires_etp",
                "beneficiaires_etp_par_etp",
                4,
            ),
            ("Structures inclusives", "structures_inclusives", "structures_inclusives_par_etp", 0),
            ("Contacts acheteurs", "contacts_acheteurs", "contacts_acheteurs_par_etp", 0),
            ("Marchés accompagnés", "marches_accompagnes", "marches_accompagnes_par_etp", 0),
            ("Partenariats", "partenariats", "partenariats_par_etp", 0),
        ):
            lines.append(
                f"  {label} : {french_number(s[total], decimals)} ; par ETP en poste : "
                f"{french_number(s[per], 4) or 'non défini'}"
            )
        attainment = s["atteinte_globale"]
        lines.append(
            "  Atteinte globale des objectifs : "
            + (
                f"{french_number(attainment * 100, 1)} %"
                if attainment is not None
                else "non définie"
            )
        )
    rate = s["rate_bp"] / 100
    cap = s["rate_bp"] * s["cout_total_cents"] / 1_000_000
    lines += [
        "",
        "Montants",
        f"  Coût total {euros(_cents(s['cout_total_cents']))} ; subvention de l'État "
        f"{euros(_cents(s['subvention_etat_cents']))} ; plafond {french_number(rate, 0)} % du coût "
        f"= {euros(cap)}",
        f"  Subvention éligible = min(subvention, plafond) × f, arrondie au centime = "
        f"{euros(_cents(s['subvention_eligible_cents']))}",
        f"  Avance versée {euros(_cents(s['avance_versee_cents']))} ; solde théorique = éligible − "
        f"avance = {euros(_cents(s['solde_theorique_cents']))}",
        "",
        "Règles",
    ]
    for rule in rules:
        detail = ""
        if rule["status"] == "failed":
            detail = f" ; mesuré {rule['measured_text']} ; attendu {rule['expected_text']}"
        lines.append(
            f"  {rule['rule_id']} (niveau {Level(rule['level']).label}) : "
            f"{STATUS_LABELS[rule['status']]}{detail}"
        )
    amount = s["montant_propose_cents"]
    lines += [
        "",
        f"Décision : {s['decision']} ; montant proposé : "
        + (euros(_cents(amount)) if amount is not None else "aucun (convention en cours)"),
        f"Règles en échec : {s['regles_en_echec'] or 'aucune'}",
        "",
        "Fichiers sources (SHA-256, réception, nom)",
    ]
    lines += [f"  {sha}  {french_date(received)}  {name}" for sha, received, name in sources]
    return "\n".join(lines) + "\n"


def _is_date(value: Any) -> bool:
    return isinstance(value, date)


def _sources(connection: Connection, key: dict[str, Any]) -> list[tuple[str, Any, str]]:
    rows = connection.execute(
        sql_query("select_strand_sources").columns(
            sa.column("sha256"), sa.column("received", sa.Date), sa.column("name")
        ),
        key,
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def diff(engine: Engine, start: date, end: date, region: str | None = None) -> str:
    """Strands whose decision or proposed amount changed from `start` to `end`, and the files
    received in between."""
    ensure_computed(engine, start)
    ensure_computed(engine, end)
    params = {"start": start, "end": end, "region": region or None}
    with engine.connect() as connection:
        changes = connection.execute(sql_query("select_decision_changes"), params).all()
        files = connection.execute(
            sql_query("select_files_received_between").columns(
                sa.column("region"),
                sa.column("received", sa.Date),
                sa.column("name"),
                sa.column("statut"),
            ),
            params,
        ).all()
    scope = f"région {region}" if region else "toutes régions"
    lines = [
        f"Changements du {french_date(start)} au {french_date(end)} ({scope})",
        "",
        f"Conventions dont la décision ou le montant proposé a changé : {len(changes)}",
    ]
    for num, year, reg, dec_a, dec_b, amount_a, amount_b, rules_a, rules_b in changes:
        before = f"{dec_a} {euros(_cents(amount_a))}".strip() if dec_a else "inconnue"
        after = f"{dec_b} {euros(_cents(amount_b))}".strip()
        lines.append(
            f"  [{reg}] {num} ({year}) : {before} -> {after}"
            + (
                f" ; règles en échec {rules_a or 'aucune'} -> {rules_b or 'aucune'}"
                if rules_a != rules_b
                else ""
            )
        )
    lines += ["", f"Fichiers reçus entre les deux dates : {len(files)}"]
    lines += [f"  [{r}] {french_date(d)} {n} : {s}" for r, d, n, s in files]
    return "\n".join(lines) + "\n"


def explain_procurement(
    engine: Engine, region: str, year: int, as_of: date, rules_dir: Path = RULES_DIR
) -> str:
    """The public procurement figures of a region and year of notification as of a date
    (contract §8.3), then each counted contract with a social consideration that makes its
    share, with the current Marchés rows that accompany it (file, sheet, row), if any."""
    ensure_computed(engine, as_of, rules_dir)
    place = f"région {region} ({REGIONS[region][0]})" if region in REGIONS else f"région {region}"
    lines = [
        f"Commande publique, {place}, contrats notifiés en {year} ; situation au "
        f"{french_date(as_of)}"
    ]
    rules = rules_for(year, rules_dir)
    last_day = min(date(year, 12, 31), as_of)
    with engine.connect() as connection, connection.begin() as transaction:
        snapshot_id = prepare_procurement_matches(connection, as_of) if year <= as_of.year else None
        snapshot = connection.execute(
            sql_query("select_decp_files").columns(receipt_date=sa.Date), {"as_of": as_of}
        ).all()
        figures = [
            dict(r)
            for r in connection.execute(
                sql_query("select_procurement"), {"as_of": as_of, "region": region}
            ).mappings()
            if r["annee"] == year
        ]
        contracts: list[Any] = []
        if snapshot_id is not None:
            contracts = list(
                connection.execute(
                    sql_query("select_procurement_contracts"),
                    {
                        "as_of": as_of,
                        "snapshot_id": snapshot_id,
                        "region": region,
                        "first_day": date(year, 1, 1),
                        "last_day": last_day,
                        "min_amount": rules.decp_min_amount,
                    },
                )
            )
        transaction.rollback()  # the work tables of prepare_procurement_matches: nothing kept
    in_force = [r for r in snapshot if r.statut == "chargé"]
    if not in_force:
        return "\n".join([*lines, "Aucun instantané DECP en vigueur à cette date."]) + "\n"
    entry = in_force[0]
    lines.append(
        f"Instantané DECP en vigueur : {entry.file_name}, reçu le "
        f"{french_date(as_date(entry.receipt_date))} (SHA-256 {entry.sha256})"
    )
    lines.append(
        f"Règles {rules.version} : contrats comptés à partir de {euros(rules.decp_min_amount)} HT ;"
        f" objectif PNAD {french_number(rules.pnad_social_share_target * 100, 0)} %"
    )
    lines.append("")
    if figures:
        for (header, fmt), value in zip(FIGURE_COLUMNS, figure_values(figures[0]), strict=True):
            lines.append(f"  {header} : {_figure_text(value, fmt)}")
    else:
        lines.append("  Aucun contrat compté pour cette région et cette année.")
    lines += [
        "",
        "Contrats avec considération sociale comptés, et lignes Marchés qui les accompagnent",
    ]
    seen: set[str] = set()
    for (
        uid,
        number,
        siret,
        name,
        notified,
        amount,
        file_name,
        file_region,
        received,
        sheet,
        row,
        num,
    ) in contracts:
        if uid not in seen:
            seen.add(uid)
            lines.append(
                f"  {uid} : n° {number} (lettres et chiffres) ; acheteur {name or ''} "
                f"(SIRET {siret}) ; notifié le "
                f"{french_date(as_date(notified))} ; {euros(amount)} HT"
            )
        if file_name is None:
            lines.append("      aucune ligne Marchés en vigueur ne l'accompagne")
        else:
            lines.append(
                f"      accompagné : {file_name} (région {file_region}, reçu le "
                f"{french_date(as_date(received))}), feuille {sheet or '-'}, ligne {row} "
                f"(N° marché {num})"
            )
    if not contracts:
        lines.append("  aucun")
    return "\n".join(lines) + "\n"


def _figure_text(value: Any, fmt: Fmt) -> str:
    if value is None:
        return "non défini"
    if fmt is Fmt.EUR:
        return euros(value)
    return french_number(value, 4) if fmt is Fmt.DEC4 else str(value)
