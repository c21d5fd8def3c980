"""The compliance extracts of contract §7, built from the mart tables of one date.

Each region gets `extracts/<R>/<D>/` (workbook, four CSV, manifest) holding only its own strands
and files; the nation gets `extracts/national/<D>/`. Each folder is published atomically by
`clauses.publish.extract.write_extract`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import clauses.compute
import clauses.contract
import clauses.publish
from clauses.compute.rules import rules_for
from clauses.config import SQL_DIR
from clauses.contract.kinds import REGIONS
from clauses.contract.vocabulary import DECISIONS, Decision, Level
from clauses.fingerprint import update_with_sources
from clauses.publish import page as visual
from clauses.publish.atomic import deliver_folder
from clauses.publish.cells import FILE_COLUMNS, Fmt, Table
from clauses.publish.extract import MANIFEST_NAME, write_extract
from clauses.publish.procurement import (
    national_procurement_tables,
    procurement_pictures,
    region_procurement_tables,
    snapshot_in_force,
)
from clauses.warehouse.engine import sql_query
from clauses.workers import NO_PROCESS, ForkedPool

log = logging.getLogger(__name__)

T, N, D2, D4, E, DT = Fmt.TEXT, Fmt.INT, Fmt.DEC2, Fmt.DEC4, Fmt.EUR, Fmt.DATE

CONVENTION_COLUMNS: list[tuple[str, Fmt, str]] = [
    ("N° convention", T, "num_convention"),
    ("Millésime", N, "millesime"),
    ("SIRET porteur", T, "siret_porteur"),
    ("Raison sociale", T, "raison_sociale"),
    ("Volet", T, "volet"),
    ("ETP conventionnés", D4, "etp_conventionnes"),
    ("Fraction en poste", D4, "fraction_en_poste"),
    ("ETP en poste", D4, "etp_en_poste"),
    ("Heures", D2, "heures"),
    ("Bénéficiaires", N, "beneficiaires"),
    ("Bénéficiaires ETP", D4, "beneficiaires_etp"),
    ("Structures inclusives", N, "structures_inclusives"),
    ("Contacts acheteurs", N, "contacts_acheteurs"),
    ("Marchés accompagnés", N, "marches_accompagnes"),
    ("Partenariats", N, "partenariats"),
    ("Heures par ETP", D4, "heures_par_etp"),
    ("Bénéficiaires par ETP", D4, "beneficiaires_par_etp"),
    ("Bénéficiaires ETP par ETP", D4, "beneficiaires_etp_par_etp"),
    ("Structures inclusives par ETP", D4, "structures_inclusives_par_etp"),
    ("Contacts acheteurs par ETP", D4, "contacts_acheteurs_par_etp"),
    ("Marchés accompagnés par ETP", D4, "marches_accompagnes_par_etp"),
    ("Partenariats par ETP", D4, "partenariats_par_etp"),
    ("Atteinte globale", D4, "atteinte_globale"),
    ("Subvention éligible", E, "subvention_eligible_cents"),
    ("Avance versée", E, "avance_versee_cents"),
    ("Solde théorique", E, "solde_theorique_cents"),
    ("Décision", T, "decision"),
    ("Montant proposé", E, "montant_propose_cents"),
    ("Règles en échec", T, "regles_en_echec"),
]
ANOMALY_COLUMNS = [
    ("N° convention", T),
    ("Millésime", N),
    ("Volet", T),
    ("Règle", T),
    ("Niveau", T),
    ("Mesuré", T),
    ("Attendu", T),
    ("Explication", T),
]
SUMMARY_COLUMNS = [
    ("Millésime", T),
    ("Conventions", N),
    ("ETP conventionnés", D4),
    ("ETP en poste", D4),
    ("Heures", D2),
    ("Bénéficiaires", N),
    ("En cours", N),
    ("Libérable", N),
    ("À examiner", N),
    ("Suspendu", N),
    ("Reversement", N),
    ("Subvention éligible", E),
    ("Avances versées", E),
    ("Solde libérable", E),
    ("Solde à examiner", E),
    ("Solde suspendu", E),
    ("Montant à reverser", E),
]
REGION_TOTAL_COLUMNS = [
    "conventions",
    "etp_conventionnes",
    "etp_en_poste",
    "heures",
    "beneficiaires",
    "n_en_cours",
    "n_liberable",
    "n_a_examiner",
    "n_suspendu",
    "n_reversement",
    "subvention_eligible_cents",
    "avance_versee_cents",
    "solde_liberable_cents",
    "solde_a_examiner_cents",
    "solde_suspendu_cents",
    "reversement_cents",
]
NATIONAL_COLUMNS = [
    ("Code région", T),
    ("Région", T),
    ("Millésime", T),
    ("Conventions", N),
    ("ETP conventionnés", D4),
    ("ETP en poste", D4),
    ("Heures", D2),
    ("Bénéficiaires", N),
    ("Bénéficiaires ETP", D4),
    ("Structures inclusives", N),
    ("Contacts acheteurs", N),
    ("Marchés accompagnés", N),
    ("Partenariats", N),
    ("Subvention éligible", E),
    ("Avances versées", E),
    ("Solde libérable", E),
    ("Solde à examiner", E),
    ("Solde suspendu", E),
    ("Montant à reverser", E),
    ("En cours", N),
    ("Libérable", N),
    ("À examiner", N),
    ("Suspendu", N),
    ("Reversement", N),
]
NATIONAL_SOURCE = [
    "conventions",
    "etp_conventionnes",
    "etp_en_poste",
    "heures",
    "beneficiaires",
    "beneficiaires_etp",
    "structures_inclusives",
    "contacts_acheteurs",
    "marches_accompagnes",
    "partenariats",
    "subvention_eligible_cents",
    "avance_versee_cents",
    "solde_liberable_cents",
    "solde_a_examiner_cents",
    "solde_suspendu_cents",
    "reversement_cents",
    "n_en_cours",
    "n_liberable",
    "n_a_examiner",
    "n_suspendu",
    "n_reversement",
]
DUPLICATE_REASON = (
    "fichier identique à un fichier déjà reçu (même empreinte SHA-256) : compté une seule fois"
)
SUPERSEDED_REASON = "toutes ses lignes sont remplacées par des fichiers reçus plus tard"


def _euros(cents: Any) -> Decimal | None:
    return None if cents is None else Decimal(int(cents)) / 100


def _value(column: str, value: Any) -> Any:
    return _euros(value) if column.endswith("_cents") else value


def regions_to_publish(connection: Connection, as_of: date) -> list[str]:
    """Regions with a convention strand, a file or a counted public contract as of `as_of`."""
    rows = connection.execute(sql_query("select_regions_to_publish"), {"as_of": as_of}).scalars()
    return sorted(set(rows))


def region_tables(
    connection: Connection, region: str, as_of: date
) -> tuple[list[Table], dict[str, Any]]:
    """The four tables of a region's extract (six with the public procurement tables, contract
    §8.4, when the region has a counted contract) and its manifest facts."""
    params = {"as_of": as_of, "region": region}
    strands = connection.execute(sql_query("select_conventions"), params).mappings().all()
    conventions = Table(
        "conventions",
        "Conventions",
        [(h, f) for h, f, _ in CONVENTION_COLUMNS],
        [tuple(_value(c, s[c]) for _, _, c in CONVENTION_COLUMNS) for s in strands],
    )
    anomalies = connection.execute(sql_query("select_anomalies"), params).all()
    anomaly_table = Table(
        "anomalies",
        "Anomalies",
        ANOMALY_COLUMNS,
        [(n, y, v, rule, Level(lv).label, m, e, x) for n, y, v, rule, lv, m, e, x in anomalies],
    )
    files = connection.execute(_files_query(), params).all()
    file_rows = []
    for name, sha, received, kinds, statut, n_rows, reason in files:
        if statut == "doublon":
            n_rows, reason = None, DUPLICATE_REASON
        elif statut == "remplacé":
            reason = SUPERSEDED_REASON + (f" | {reason}" if reason else "")
        file_rows.append((name, sha, received, kinds, statut, n_rows, reason))
    file_table = Table("fichiers", "Fichiers", FILE_COLUMNS, file_rows)

    totals = connection.execute(sql_query("select_region_totals"), params).mappings().all()
    summary_rows = [
        (str(t["millesime"]), *(_value(c, t[c]) for c in REGION_TOTAL_COLUMNS)) for t in totals
    ]
    if totals:
        summary_rows.append(
            ("Total", *(_value(c, sum(t[c] for t in totals)) for c in REGION_TOTAL_COLUMNS))
        )
    summary = Table("synthese", "Synthèse", SUMMARY_COLUMNS, summary_rows)

    sources = connection.execute(sql_query("select_sources"), params).scalars().all()
    procurement, procurement_versions = region_procurement_tables(connection, region, as_of)
    versions = sorted({s["rules_version"] for s in strands} | procurement_versions)
    manifest = {
        "region": region,
        "as_of": as_of.isoformat(),
        "rules_version": ", ".join(versions),
        "sources": _with_snapshot(connection, as_of, list(sources), bool(procurement)),
    }
    return [summary, conventions, anomaly_table, file_table, *procurement], manifest


def _with_snapshot(
    connection: Connection, as_of: date, sources: list[str], procurement: bool
) -> list[str]:
    """The sources of an extract, with the DECP snapshot in force when the extract holds the
    procurement tables (contract §8.4), in SHA-256 order as the others."""
    snapshot = snapshot_in_force(connection, as_of) if procurement else None
    return sorted({*sources, snapshot}) if snapshot else sources


TARGET_COLUMNS = [
    ("Millésime", N),
    ("Conventions", N),
    ("ETP conventionnés", D4),
    ("ETP en poste", D4),
    ("Cible nationale (ETP)", D2),
    ("Atteinte de la cible", Fmt.PERCENT),
]


def national_target_table(rows: Sequence[Any]) -> Table:
    """Progress of each millésime's FTE in post against the national target (rules file)."""
    body = [
        (
            item.millesime,
            sum(r["conventions"] for r in rows if r["millesime"] == item.millesime),
            item.fte_agreed,
            item.fte_in_post,
            item.target,
            item.fte_in_post / item.target,
        )
        for item in fte_progress(rows)
    ]
    return Table("objectif_national", "Objectif national", TARGET_COLUMNS, body)


def fte_progress(rows: Sequence[Any]) -> list[visual.FteProgress]:
    """Each millésime's FTE, summed over the regions' totals `rows`, and its national target."""
    progress = []
    for millesime in sorted({r["millesime"] for r in rows}):
        of_year = [r for r in rows if r["millesime"] == millesime]
        progress.append(
            visual.FteProgress(
                millesime=millesime,
                fte_in_post=sum(r["etp_en_poste"] for r in of_year),
                fte_agreed=sum(r["etp_conventionnes"] for r in of_year),
                target=rules_for(millesime).national_target_etp,
            )
        )
    return progress


def national_comparison(
    connection: Connection, as_of: date, pictures: dict[str | None, list[visual.ProcurementYear]]
) -> visual.NationalComparison:
    """The national page's comparison of the 18 regions in one year, and the progress of every
    millésime towards the national FTE target. The year is the latest, up to the date's, with
    both conventions (millésime) and public contracts; without one, the latest with either."""
    rows = (
        connection.execute(sql_query("select_region_totals"), {"as_of": as_of, "region": None})
        .mappings()
        .all()
    )
    millesimes = {r["millesime"] for r in rows if r["millesime"] <= as_of.year}
    notified = {item.year for item in pictures.get(None, []) if item.year <= as_of.year}
    year = max(millesimes & notified or millesimes | notified, default=None)
    regions = []
    for code, (name, _) in REGIONS.items():
        shown = [item for item in pictures.get(code, []) if item.year == year]
        fte = [r for r in rows if r["code_region"] == code and r["millesime"] == year]
        target = shown[0].target if shown else None
        if target is None and year is not None:
            target = rules_for(year).pnad_social_share_target
        regions.append(
            visual.RegionComparison(
                label=f"{name} ({code})",
                share=shown[0].share if shown else None,
                target=target,
                coverage=shown[0].coverage if shown else None,
                fte_in_post=sum(r["etp_en_poste"] for r in fte) if fte else None,
                fte_agreed=sum(r["etp_conventionnes"] for r in fte) if fte else None,
            )
        )
    return visual.NationalComparison(year=year, regions=regions, progress=fte_progress(rows))


def _files_query() -> sa.TextualSelect:
    """The file entries of a region (or of every region) with their status, dates as dates."""
    return sql_query("select_files").columns(receipt_date=sa.Date)


def national_table(connection: Connection, as_of: date) -> tuple[list[Table], dict[str, Any]]:
    params = {"as_of": as_of, "region": None}
    rows = connection.execute(sql_query("select_region_totals"), params).mappings().all()
    body = [
        (
            r["code_region"],
            REGIONS[r["code_region"]][0],
            str(r["millesime"]),
            *(_value(c, r[c]) for c in NATIONAL_SOURCE),
        )
        for r in rows
    ]
    if rows:
        body.append(
            (
                "",
                "Total national",
                "",
                *(_value(c, sum(r[c] for r in rows)) for c in NATIONAL_SOURCE),
            )
        )
    versions = connection.execute(sql_query("select_rules_versions"), params).scalars().all()
    sources = connection.execute(sql_query("select_sources"), params).scalars().all()
    procurement, procurement_versions = national_procurement_tables(connection, as_of)
    manifest = {
        "as_of": as_of.isoformat(),
        "rules_version": ", ".join(sorted({*versions, *procurement_versions})),
        "sources": _with_snapshot(connection, as_of, list(sources), bool(procurement)),
    }
    tables = [Table("regions", "Régions", NATIONAL_COLUMNS, body), national_target_table(rows)]
    return [*tables, *procurement], manifest


def publish_extracts(
    engine: Engine,
    extracts_dir: Path,
    as_of: date,
    regions: set[str] | None = None,
    outbox_template: str | None = None,
    *,
    force: bool = False,
    processes: int = 1,
) -> dict[str, Path]:
    """Write every region's extract and the national one; returns region → folder. The
    extracts to write are written by ``processes`` processes (`_publish_all`).

    Nothing is rewritten that would come out identical (unless `force`): a folder that already
    holds this content (`content_sha256` in its manifest: tables, manifest facts, summary and
    rendering code, the date aside) is left as it is, and a new date whose content equals the
    previous date's extract takes that extract's CSV files and workbook as they are; only its
    summary page and manifest, which carry the date, are written. With `outbox_template` (a
    path holding `{region}`), each region's folder is also delivered to that region's own
    outbox, and nothing else is: no other region's, not the national one.
    """
    day = as_of.isoformat()
    extracts: dict[str, Extract] = {}
    with engine.connect() as connection:
        for region in regions_to_publish(connection, as_of):
            if regions is not None and region not in regions:
                continue
            tables, manifest = region_tables(connection, region, as_of)
            extracts[region] = Extract(
                extracts_dir / region / day,
                f"conformite_{region}_{day}.xlsx",
                tables,
                manifest,
                summary_data(connection, as_of, region),
            )
        tables, manifest = national_table(connection, as_of)
        extracts["national"] = Extract(
            extracts_dir / "national" / day,
            f"consolidation_nationale_{day}.xlsx",
            tables,
            manifest,
            summary_data(connection, as_of, None),
        )

    def deliver(region: str) -> None:  # as soon as it is written: a later failure keeps it
        if outbox_template and region != "national":
            folder = extracts[region].target
            deliver_folder(folder, Path(outbox_template.format(region=region)) / day)

    written = _publish_all(extracts, force, processes, deliver)
    published = {region: extract.target for region, extract in extracts.items()}
    log.info(
        "extracts as of %s in %s: %d written, %d unchanged",
        as_of,
        extracts_dir,
        len(written),
        len(published) - len(written),
    )
    return published


def _publish_all(
    extracts: dict[str, Extract], force: bool, processes: int, written: Callable[[str], None]
) -> list[str]:
    """Publish ``extracts`` (`Extract.publish`: one that holds its content already is not
    written); ``written`` is called with the scope of each extract written, as soon as it is.
    Several to render anew are written by ``processes`` processes forked from this one (a
    workbook is a fraction of a second of Python, and the extracts are independent); workers that
    cannot start or that die leave the rest to this process. The first publication that
    fails stops what this process writes; those the workers wrote are still announced, then
    its error is raised."""
    results: dict[str, bool | Exception] = {}
    # Only those rendered anew are worth a worker: one published already is left as it is, one
    # whose content equals the previous date's takes its files (most dates of a backfill), in
    # less than the fork would cost.
    rendered = [(scope, extract) for scope, extract in extracts.items() if extract.rendered(force)]
    if processes > 1 and len(rendered) > 1:
        pool = None
        try:
            pool = ForkedPool(min(processes, len(rendered)))
            futures = {scope: pool.submit(_publish, extract, force) for scope, extract in rendered}
        except NO_PROCESS as error:  # no process can start here: this one writes them all
            log.warning("extracts written in this process: no worker process (%s)", error)
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        else:
            with pool:
                for scope, future in futures.items():
                    try:
                        results[scope] = future.result()
                    except BrokenProcessPool:  # a worker died: this process writes the rest
                        log.warning("a worker process writing extracts died: written here")
                        break
                    except Exception as error:  # its own failure: raised once the others end
                        results[scope] = error
    done: list[str] = []
    failure: Exception | None = None
    for scope, extract in extracts.items():
        outcome = results.get(scope)
        if outcome is None and failure is None:  # not written by a worker: written here
            try:
                outcome = extract.publish(force)
            except Exception as error:
                outcome = error
        if isinstance(outcome, Exception):
            failure = failure or outcome  # nothing more is written here after a failure
        elif outcome:  # written (after a failure: by a worker, already)
            done.append(scope)
            written(scope)
    if failure is not None:
        raise failure
    return done


def _publish(extract: Extract, force: bool) -> bool:
    return extract.publish(force)


@functools.cache
def rendering_code_sha256() -> str:
    """The code that reads the tables (its queries in sql/) and turns them into files (read
    once per process): a change in it changes every extract's content."""
    digest = hashlib.sha256()
    update_with_sources(
        digest, [clauses.publish, clauses.contract, clauses.compute], [(SQL_DIR, "*.sql")]
    )
    return digest.hexdigest()


_DAY_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Extract:
    """One extract folder to publish: `target` is `<extracts>/<scope>/<D>`."""

    target: Path
    workbook_name: str
    tables: list[Table]
    manifest: dict[str, Any]
    summary: Any  # visual.SummaryData

    @functools.cached_property
    def content_sha256(self) -> str:
        """What the folder holds, the date aside, computed before writing anything."""
        digest = hashlib.sha256(rendering_code_sha256().encode())
        facts = {k: v for k, v in self.manifest.items() if k != "as_of"}
        digest.update(json.dumps(facts, sort_keys=True, default=str).encode())
        for table in self.tables:
            digest.update(repr((table.name, table.sheet, table.columns, table.rows)).encode())
        digest.update(repr(dataclasses.replace(self.summary, as_of=None)).encode())
        return digest.hexdigest()

    def publish(self, force: bool) -> bool:
        """Write the folder unless it holds this content already; True when written."""
        content = self.content_sha256
        if not force and _published_content(self.target) == content:
            return False
        reuse: dict[str, Path] = {}
        previous = None if force else self._previous_with(content)
        if previous is not None:
            reuse = {f"{t.name}.csv": previous / f"{t.name}.csv" for t in self.tables}
            old_workbook = self.workbook_name.replace(self.target.name, previous.name)
            reuse[self.workbook_name] = previous / old_workbook
        write_extract(
            self.target,
            workbook_name=self.workbook_name,
            tables=self.tables,
            manifest_extra={**self.manifest, "content_sha256": content},
            documents={SUMMARY_PAGE: visual.render_summary_page(self.summary)},
            reuse=reuse,
        )
        if previous is not None:
            log.info("%s: same content as %s, its files reused", self.target, previous.name)
        return True

    def rendered(self, force: bool) -> bool:
        """Whether `publish` renders this extract anew: neither published already nor the same
        content as the previous date's."""
        if force:
            return True
        content = self.content_sha256
        return _published_content(self.target) != content and self._previous_with(content) is None

    def _previous_with(self, content: str) -> Path | None:
        """The latest earlier date's folder of this scope, if it holds the same content."""
        try:
            days = [
                entry.name
                for entry in os.scandir(self.target.parent)
                if _DAY_FOLDER.fullmatch(entry.name) and entry.name < self.target.name
            ]
        except FileNotFoundError:
            return None
        if not days:
            return None
        previous = self.target.parent / max(days)
        return previous if _published_content(previous) == content else None


def _published_content(folder: Path) -> str | None:
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get("content_sha256") if isinstance(manifest, dict) else None


INDICATORS = (
    ("Heures d'insertion", "heures", "objectif_heures"),
    ("Bénéficiaires", "beneficiaires", "objectif_beneficiaires"),
    ("Bénéficiaires ETP", "beneficiaires_etp", "objectif_beneficiaires_etp"),
    ("Structures inclusives", "structures_inclusives", "objectif_structures_inclusives"),
    ("Contacts acheteurs", "contacts_acheteurs", "objectif_contacts_acheteurs"),
    ("Marchés accompagnés", "marches_accompagnes", "objectif_marches_accompagnes"),
    ("Partenariats", "partenariats", "objectif_partenariats"),
)
SUMMARY_PAGE = "synthese.html"


def summary_data(connection: Connection, as_of: date, region: str | None) -> Any:
    """What the visual summary of a region (or of the nation, `region` None) shows."""
    from clauses.contract.french import euros, french_number

    params = {"as_of": as_of, "region": region}
    strands = connection.execute(sql_query("select_conventions"), params).mappings().all()
    facilitators = [s for s in strands if s["volet"] == "facilitateur" and s["etp_en_poste"] > 0]
    in_post = sum(s["etp_en_poste"] for s in facilitators)
    bars = []
    for label, realised, objective in INDICATORS:
        with_objective = [s for s in facilitators if (s[objective] or 0) > 0]
        weight = sum(s["etp_en_poste"] for s in with_objective)
        bars.append(
            visual.IndicatorBar(
                label,
                sum(s[realised] or 0 for s in facilitators) / in_post if in_post else None,
                sum(s[objective] * s["etp_en_poste"] for s in with_objective) / weight
                if weight
                else None,
            )
        )
    decisions = []
    for decision in DECISIONS:
        chosen = [s for s in strands if s["decision"] == decision]
        amount = sum(s["montant_propose_cents"] or 0 for s in chosen)
        decisions.append((decision.value, len(chosen), Decimal(amount) / 100))
    hours = connection.execute(sql_query("select_monthly_hours"), params).all()
    files = connection.execute(_files_query(), params).all()
    per_month: dict[str, list[int]] = {}
    for file in files:
        statut = file.statut
        counts = per_month.setdefault(file.receipt_date.isoformat()[:7], [0, 0])
        if statut in ("chargé", "remplacé"):
            counts[0] += 1
        elif statut in ("en quarantaine", "refusé"):
            counts[1] += 1
    total = {d: a for d, _, a in decisions}
    withheld = sum(s["solde_theorique_cents"] for s in strands if s["decision"] == "suspendu")

    def money(value: float) -> str:
        return euros(value).replace(" €", "\u00a0€")  # keep the sign with its amount

    title = "France entière" if region is None else f"{REGIONS[region][0]} ({region})"
    pictures = procurement_pictures(connection, as_of, region)
    return visual.SummaryData(
        title=title,
        as_of=as_of,
        key_figures=[
            ("Conventions (volets)", str(len(strands))),
            ("ETP conventionnés", french_number(sum(s["etp_conventionnes"] for s in strands), 1)),
            ("ETP en poste", french_number(sum(s["etp_en_poste"] for s in strands), 1)),
            ("Heures d'insertion", french_number(sum(s["heures"] or 0 for s in strands), 0)),
            ("Soldes libérables", money(float(total[Decision.LIBERABLE]))),
            ("Soldes à examiner", money(float(total[Decision.A_EXAMINER]))),
            ("Soldes suspendus", money(withheld / 100)),
            ("À reverser", money(float(-total[Decision.REVERSEMENT]))),
        ],
        indicators=bars,
        decisions=decisions,
        monthly_hours=[(m, float(h)) for m, h in hours],
        monthly_files=[(m, c[0], c[1]) for m, c in sorted(per_month.items())],
        rules_version=", ".join(sorted({s["rules_version"] for s in strands})),
        procurement=pictures.get(region, []),
        national=national_comparison(connection, as_of, pictures) if region is None else None,
    )
