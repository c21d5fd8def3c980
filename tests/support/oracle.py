"""Test oracle: an independent, pure-Python reading of shared/data-contract.md §4-7.

It reads the warehouse (raw_files and the stg_* tables) with plain SELECTs and recomputes, in
Python with exact arithmetic (fractions.Fraction), what `conventions.csv`, `anomalies.csv` and
the `Statut` column of `fichiers.csv` must hold for a region R as of a date D. It deliberately
does not use the pipeline's SQL or compute module.

Public API
----------
- ``DEFAULT_RULES`` / ``Rules``: the §6 default parameters; ``dataclasses.replace`` to change them.
- ``expected_conventions(engine, as_of, region, rules=DEFAULT_RULES)``: conventions.csv rows.
- ``expected_anomalies(engine, as_of, region, rules=DEFAULT_RULES)``: anomalies.csv rows
  (without Mesuré / Attendu / Explication, plus a numeric ``_mesure`` for loose checks).
- ``expected_files(engine, as_of, region)``: fichiers.csv rows (Fichier, SHA-256,
  Date de réception, Statut).
- ``expected_strands(engine, as_of, rules=DEFAULT_RULES)``: the unformatted per-strand values
  (Fractions), every region, for tests that want to compare numbers loosely.

Choices made where the contract leaves room (each is also noted where it is applied):
1. "Most recently received" compares (receipt date, file name in code-point order); a content's
   receipt date and name are those of its original entry. Remaining ties (same date and name in
   two regions) are broken by region code, then SHA-256, only to stay deterministic.
2. R05 uses the EARLIEST receipt date of any intermediate Bilans row of the convention and
   millésime counted as of D (not only the winning row): a report received on time and corrected
   later was still received on time.
3. R06 passes when any annual Bilans row of the convention and millésime is counted as of D.
4. R07 compares the winning annual row (most recently received) with the detail as of D; it
   fails when heures or bénéficiaires (or both) are off by more than the tolerance. Its
   ``_mesure`` is the computed heures.
5. R09: when several winning strands of millésime − 1 share the SIRET and Volet (the contract
   says this does not happen), the most recently received one is the previous strand.
6. Decimal inputs stored as floats (hours, ETP, objectives, declared totals) are read back as the
   shortest decimal that round-trips (``Decimal(repr(x))``), i.e. the value written in the file.
7. Rounding is half up (away from zero) for every printed value; amounts are exact cents.
8. ``expected_files`` rows are sorted by (Date de réception, Fichier, SHA-256); the contract
   fixes no order for fichiers.csv.
9. A loaded content is ``remplacé`` when it holds at least one row and none of its rows counts
   as of D: activity rows whose partition is won by another content, Bilans rows not winning
   their (N° convention, Millésime, Type de bilan), Conventions rows not winning their
   (N° convention, Millésime) -- including a row beaten by a higher avenant of the same file.
"""

from __future__ import annotations

import calendar
import dataclasses
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = [
    "CONVENTION_COLUMNS",
    "ANOMALY_COLUMNS",
    "FILE_COLUMNS",
    "DEFAULT_RULES",
    "Rules",
    "expected_conventions",
    "expected_anomalies",
    "expected_files",
    "expected_strands",
]

CONVENTION_COLUMNS = (
    "N° convention",
    "Millésime",
    "SIRET porteur",
    "Raison sociale",
    "Volet",
    "ETP conventionnés",
    "Fraction en poste",
    "ETP en poste",
    "Heures",
    "Bénéficiaires",
    "Bénéficiaires ETP",
    "Structures inclusives",
    "Contacts acheteurs",
    "Marchés accompagnés",
    "Partenariats",
    "Heures par ETP",
    "Bénéficiaires par ETP",
    "Bénéficiaires ETP par ETP",
    "Structures inclusives par ETP",
    "Contacts acheteurs par ETP",
    "Marchés accompagnés par ETP",
    "Partenariats par ETP",
    "Atteinte globale",
    "Subvention éligible",
    "Avance versée",
    "Solde théorique",
    "Décision",
    "Montant proposé",
    "Règles en échec",
)
ANOMALY_COLUMNS = ("N° convention", "Millésime", "Volet", "Règle", "Niveau")
FILE_COLUMNS = ("Fichier", "SHA-256", "Date de réception", "Statut")

RULE_IDS = ("R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09")
BLOQUANT = "bloquant"
AVERTISSEMENT = "avertissement"

# The seven indicators: (key, realised header, per-FTE header, objective column).
INDICATORS = (
    ("heures", "Heures", "Heures par ETP", "objectif_heures"),
    ("beneficiaires", "Bénéficiaires", "Bénéficiaires par ETP", "objectif_beneficiaires"),
    (
        "beneficiaires_etp",
        "Bénéficiaires ETP",
        "Bénéficiaires ETP par ETP",
        "objectif_beneficiaires_etp",
    ),
    (
        "structures_inclusives",
        "Structures inclusives",
        "Structures inclusives par ETP",
        "objectif_structures_inclusives",
    ),
    (
        "contacts_acheteurs",
        "Contacts acheteurs",
        "Contacts acheteurs par ETP",
        "objectif_contacts_acheteurs",
    ),
    (
        "marches_accompagnes",
        "Marchés accompagnés",
        "Marchés accompagnés par ETP",
        "objectif_marches_accompagnes",
    ),
    ("partenariats", "Partenariats", "Partenariats par ETP", "objectif_partenariats"),
)
INCLUSIVE_EMPLOYERS = frozenset({"ei", "etti", "ai", "aci", "ea", "esat", "geiq"})
ACTIVITY_TABLES = ("stg_heures", "stg_marches", "stg_contacts", "stg_partenariats")
ALL_STAGING = (*ACTIVITY_TABLES, "stg_bilans", "stg_conventions")
DATE_COLUMNS = {
    "raw_files": ("receipt_date",),
    "stg_contacts": ("date_contact",),
    "stg_partenariats": ("date_partenariat",),
    "stg_marches": ("date_notification",),
    "stg_bilans": ("date_bilan",),
    "stg_conventions": ("date_debut", "date_fin", "date_recrutement", "date_signature"),
}


# --------------------------------------------------------------------------- rules parameters
@dataclass(frozen=True)
class Rules:
    """Rule parameters (contract §6 defaults). Numbers may be given as int/float/str/Decimal/
    Fraction; they are used as exact Fractions. ``levels`` maps a rule id to 'bloquant' or
    'avertissement' ('blocking' / 'warning' are accepted too)."""

    rate_default: Any = Fraction(70, 100)
    rate_local_authority: Any = Fraction(80, 100)
    funding_gap_tolerance_cents: int = 100  # R02: 1 €
    min_etp: Any = Fraction(1, 2)  # R03
    interim_report_months: int = 7  # R05
    annual_report_tolerance: Any = Fraction(5, 100)  # R07
    attainment_threshold: Any = Fraction(80, 100)  # R08
    levels: Mapping[str, str] = field(
        default_factory=lambda: {
            "R01": AVERTISSEMENT,
            "R02": AVERTISSEMENT,
            "R03": BLOQUANT,
            "R04": BLOQUANT,
            "R05": AVERTISSEMENT,
            "R06": BLOQUANT,
            "R07": AVERTISSEMENT,
            "R08": AVERTISSEMENT,
            "R09": AVERTISSEMENT,
        }
    )

    def level(self, rule_id: str) -> str:
        value = _fold(self.levels.get(rule_id, AVERTISSEMENT))
        return BLOQUANT if value in ("bloquant", "blocking", "block") else AVERTISSEMENT

    def replace(self, **changes: Any) -> Rules:
        return dataclasses.replace(self, **changes)


DEFAULT_RULES = Rules()


# --------------------------------------------------------------------------- small helpers
def _fold(text: Any) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().casefold()


def _q(value: Any) -> Fraction | None:
    """An exact Fraction from a stored number (floats read as the decimal that was written)."""
    if value is None:
        return None
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if value != value:  # NaN: treat as missing
            return None
        return Fraction(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return Fraction(value)
    return Fraction(Decimal(str(value).strip().replace(",", ".")))


def _to_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _jours(a: date, b: date) -> int:
    """Days from a to b inclusive."""
    return (b - a).days + 1


def _round_half_up(x: Fraction, places: int) -> int:
    """x × 10^places rounded half up (away from zero), as an integer."""
    scaled = x * 10**places
    sign = -1 if scaled < 0 else 1
    scaled = abs(scaled)
    n = scaled.numerator * 2 + scaled.denominator
    return sign * (n // (2 * scaled.denominator))


def _fmt(x: Fraction | int | None, places: int) -> str:
    """Decimal comma, no thousands separator, `places` decimals half up; '' for None."""
    if x is None:
        return ""
    n = _round_half_up(Fraction(x), places)
    sign = "-" if n < 0 else ""
    n = abs(n)
    if places == 0:
        return f"{sign}{n}"
    whole, frac = divmod(n, 10**places)
    return f"{sign}{whole},{frac:0{places}d}"


def _fmt_cents(cents: int | None) -> str:
    return "" if cents is None else _fmt(Fraction(cents, 100), 2)


def _fmt_int(n: int | None) -> str:
    return "" if n is None else str(int(n))


def _is_local_authority(categorie: Any) -> bool:
    text = str(categorie or "").strip()
    if text.startswith("72"):
        return True
    return text.isdigit() and 7343 <= int(text) <= 7348


# --------------------------------------------------------------------------- warehouse reading
def _read(engine: Any, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f"SELECT * FROM {table}")  # fixed table names only
        rows = [dict(r._mapping) for r in result]
    for row in rows:
        for col in DATE_COLUMNS.get(table, ()):
            if col in row:
                row[col] = _to_date(row[col])
    return rows


@dataclass
class _Content:
    sha: str
    receipt_date: date
    file_name: str
    region: str
    status: str  # status of the original entry

    @property
    def key(self) -> tuple:
        # Choice 1: receipt date, then file name code-point order; region and sha only for
        # determinism.
        return (self.receipt_date, self.file_name, self.region, self.sha)


@dataclass
class _State:
    as_of: date
    entries: list[dict[str, Any]]  # raw_files entries with receipt_date <= D
    original_entry: dict[str, int]  # sha -> file_id of the original entry
    contents: dict[str, _Content]  # sha -> content (original entry), every status
    counted: dict[str, list[dict[str, Any]]]  # table -> rows of counted contents
    activity: dict[str, list[dict[str, Any]]]  # table -> rows of winning partitions
    bilans_win: dict[tuple, dict[str, Any]]  # (num, mill, type) -> winning row
    conv_win: dict[tuple, dict[str, Any]]  # (num, mill) -> winning row
    row_counts: dict[str, dict[str, int]]  # sha -> {'total': n, 'live': n}


def _entry_order(e: dict[str, Any]) -> tuple:
    return (e["receipt_date"], e["file_name"], e["region"], e.get("file_id") or 0)


def _state(engine: Any, as_of: date) -> _State:
    entries = [e for e in _read(engine, "raw_files") if e["receipt_date"] <= as_of]
    entries.sort(key=_entry_order)
    original: dict[str, int] = {}
    contents: dict[str, _Content] = {}
    for e in entries:
        sha = e["sha256"] or ""
        if sha and sha not in original:
            original[sha] = e["file_id"]
            contents[sha] = _Content(
                sha, e["receipt_date"], e["file_name"], e["region"], e["status"]
            )
    loaded = {sha for sha, c in contents.items() if c.status == "loaded"}

    counted: dict[str, list[dict[str, Any]]] = {}
    for table in ALL_STAGING:
        rows = [r for r in _read(engine, table) if r["file_sha256"] in loaded]
        for i, r in enumerate(rows):
            r["_id"] = (table, i)
        counted[table] = rows

    def ckey(row: dict[str, Any]) -> tuple:
        return contents[row["file_sha256"]].key

    # Activity partitions (kind, siret, mois): the most recently received content wins.
    activity: dict[str, list[dict[str, Any]]] = {}
    for table in ACTIVITY_TABLES:
        winner: dict[tuple, tuple] = {}
        for r in counted[table]:
            part = (r["siret_porteur"], r["mois"])
            k = ckey(r)
            if part not in winner or k > winner[part]:
                winner[part] = k
        activity[table] = [
            r for r in counted[table] if ckey(r) == winner[(r["siret_porteur"], r["mois"])]
        ]

    # Bilans: per (num, mill, type) the most recently received row (same content: later row).
    bilans_win: dict[tuple, dict[str, Any]] = {}
    for r in counted["stg_bilans"]:
        key = (r["num_convention"], r["millesime"], _fold(r["type_bilan"]))
        r["_rk"] = (ckey(r), r.get("sheet") or "", r.get("row_number") or 0)
        if key not in bilans_win or r["_rk"] > bilans_win[key]["_rk"]:
            bilans_win[key] = r

    # Conventions: per (num, mill) highest avenant, then most recently received.
    conv_win: dict[tuple, dict[str, Any]] = {}
    for r in counted["stg_conventions"]:
        key = (r["num_convention"], r["millesime"])
        rk = (r["num_avenant"] or 0, ckey(r), r.get("sheet") or "", r.get("row_number") or 0)
        r["_rk"] = rk
        if key not in conv_win or rk > conv_win[key]["_rk"]:
            conv_win[key] = r

    live_ids = {r["_id"] for rows in activity.values() for r in rows}
    live_ids |= {r["_id"] for r in bilans_win.values()}
    live_ids |= {r["_id"] for r in conv_win.values()}
    row_counts: dict[str, dict[str, int]] = defaultdict(lambda: {"total": 0, "live": 0})
    for rows in counted.values():
        for r in rows:
            rc = row_counts[r["file_sha256"]]
            rc["total"] += 1
            rc["live"] += r["_id"] in live_ids

    return _State(
        as_of,
        entries,
        original,
        contents,
        counted,
        activity,
        bilans_win,
        conv_win,
        dict(row_counts),
    )


# --------------------------------------------------------------------------- figures (§5, §6)
def _indicators(state: _State, siret: str, m_from: str, m_to: str) -> dict[str, Any]:
    def rows(table: str) -> list[dict[str, Any]]:
        return [
            r
            for r in state.activity[table]
            if r["siret_porteur"] == siret and m_from <= r["mois"] <= m_to
        ]

    heures_rows = rows("stg_heures")
    heures = sum((_q(r["heures_realisees"]) or Fraction(0) for r in heures_rows), Fraction(0))
    marches = {
        (r["siret_donneur_ordre"], r["num_marche"], r["num_lot"] or "") for r in rows("stg_marches")
    }
    return {
        "heures": heures,
        "beneficiaires": len({r["participant_hash"] for r in heures_rows}),
        "beneficiaires_etp": heures / 1607,
        "structures_inclusives": len(
            {
                r["siret_employeur"]
                for r in heures_rows
                if _fold(r["type_employeur"]) in INCLUSIVE_EMPLOYERS
            }
        ),
        "contacts_acheteurs": len(rows("stg_contacts")),
        "marches_accompagnes": len(marches),
        "partenariats": len(rows("stg_partenariats")),
    }


def _strand(state: _State, conv: dict[str, Any], rules: Rules) -> dict[str, Any]:
    D = state.as_of
    num, mill = conv["num_convention"], conv["millesime"]
    debut, fin, recr = conv["date_debut"], conv["date_fin"], conv["date_recrutement"]
    facilitateur = _fold(conv["volet"]) == "facilitateur"
    E = _q(conv["etp_conventionnes"])

    # Fraction en poste, ETP en poste
    if recr is None or recr > fin:
        f = Fraction(0)
    else:
        f = Fraction(_jours(max(recr, debut), fin), _jours(debut, fin))
    etp = E * f

    out: dict[str, Any] = {
        "num_convention": num,
        "millesime": mill,
        "code_region": conv["code_region"],
        "siret_porteur": conv["siret_porteur"],
        "raison_sociale": conv["raison_sociale"],
        "volet": conv["volet"],
        "facilitateur": facilitateur,
        "etp_conventionnes": E,
        "fraction_en_poste": f,
        "etp_en_poste": etp,
        "indicators": None,
        "per_etp": None,
        "attainment": None,
        "atteinte_globale": None,
    }

    # Indicators (facilitateur strands only)
    if facilitateur:
        ind = _indicators(state, conv["siret_porteur"], _month(debut), _month(fin))
        per = {k: (v / etp if etp != 0 else None) for k, v in ind.items()}
        att: dict[str, Fraction] = {}
        if etp != 0:
            for key, _h, _p, obj_col in INDICATORS:
                obj = _q(conv.get(obj_col))
                if obj is not None and obj > 0:
                    att[key] = per[key] / obj
        glob = (
            sum((min(a, Fraction(1)) for a in att.values()), Fraction(0)) / len(att)
            if att
            else None
        )
        out.update(indicators=ind, per_etp=per, attainment=att, atteinte_globale=glob)

    # Amounts
    local = _is_local_authority(conv["categorie_juridique"])
    rate = _q(rules.rate_local_authority if local else rules.rate_default)
    subv, cout = conv["subvention_etat_cents"], conv["cout_total_cents"]
    cofin, avance = conv["cofinancements_cents"], conv["avance_versee_cents"] or 0
    plafond = rate * cout
    eligible = _round_half_up(min(Fraction(subv), plafond) * f, 0)  # cents, half up
    solde = eligible - avance
    out.update(
        rate=rate,
        subvention_eligible_cents=eligible,
        avance_versee_cents=avance,
        solde_theorique_cents=solde,
    )

    # Rules: status True = passes, False = fails, None = not evaluated
    res: dict[str, bool | None] = {}
    mes: dict[str, float | None] = {}
    res["R01"] = Fraction(subv) <= plafond
    mes["R01"] = subv / 100
    res["R02"] = subv + cofin >= cout - rules.funding_gap_tolerance_cents
    mes["R02"] = (subv + cofin) / 100
    res["R03"] = E >= _q(rules.min_etp)
    mes["R03"] = float(E)
    res["R04"] = recr is not None and recr <= fin
    mes["R04"] = None

    bilans = [
        r
        for r in state.counted["stg_bilans"]
        if r["num_convention"] == num and r["millesime"] == mill
    ]
    interim = [r for r in bilans if _fold(r["type_bilan"]) == "intermediaire"]
    annual = [r for r in bilans if _fold(r["type_bilan"]) == "annuel"]

    # R05 -- choice 2: earliest receipt date of any intermediate row counted as of D.
    deadline = _add_months(debut, int(rules.interim_report_months))
    out["r05_deadline"] = deadline
    if D > deadline:
        received = [state.contents[r["file_sha256"]].receipt_date for r in interim]
        res["R05"] = bool(received) and min(received) <= deadline
    else:
        res["R05"] = None
    mes["R05"] = None

    # R06 -- choice 3: any annual row counted as of D (they are all received on or before D).
    res["R06"] = bool(annual) if D > fin else None
    mes["R06"] = None

    # R07 -- choice 4: winning annual row against the detail as of D; facilitateur only.
    res["R07"], mes["R07"] = None, None
    win_annual = state.bilans_win.get((num, mill, "annuel"))
    if facilitateur and win_annual is not None:
        tol = _q(rules.annual_report_tolerance)
        ind = out["indicators"]

        def agrees(declared: Any, computed: Fraction) -> bool:
            d = _q(declared) if declared is not None else Fraction(0)
            return abs(d - computed) <= tol * computed

        res["R07"] = agrees(win_annual["heures_insertion"], ind["heures"]) and agrees(
            win_annual["beneficiaires"], Fraction(ind["beneficiaires"])
        )
        mes["R07"] = float(ind["heures"])

    # R08: facilitateur only, global attainment defined.
    if facilitateur and out["atteinte_globale"] is not None:
        res["R08"] = out["atteinte_globale"] >= _q(rules.attainment_threshold)
        mes["R08"] = float(out["atteinte_globale"])
    else:
        res["R08"], mes["R08"] = None, None

    # R09 -- choice 5: previous millésime's winning strand, same SIRET and Volet, any region.
    prev = [
        r
        for (n, m), r in state.conv_win.items()
        if m == mill - 1
        and r["siret_porteur"] == conv["siret_porteur"]
        and _fold(r["volet"]) == _fold(conv["volet"])
    ]
    res["R09"], mes["R09"] = None, None
    if prev:
        p = max(prev, key=lambda r: state.contents[r["file_sha256"]].key)
        cur_v = conv["financements_preexistants_cents"]
        prev_v = p["financements_preexistants_cents"]
        if cur_v is not None and prev_v is not None:
            res["R09"] = cur_v >= prev_v
            mes["R09"] = cur_v / 100

    failed = [rid for rid in RULE_IDS if res.get(rid) is False]
    out.update(rule_results=res, rule_measures=mes, failed=failed)

    # Decision (§6 order)
    if D <= fin:
        decision, montant = "en cours", None
    elif solde < 0:
        decision, montant = "reversement", solde
    elif any(rules.level(r) == BLOQUANT for r in failed):
        decision, montant = "suspendu", 0
    elif failed:
        decision, montant = "à examiner", solde
    else:
        decision, montant = "libérable", solde
    out.update(decision=decision, montant_propose_cents=montant)
    return out


def expected_strands(
    engine: Any, as_of: date, rules: Rules = DEFAULT_RULES
) -> list[dict[str, Any]]:
    """Unformatted values of every winning strand (all regions), sorted by (N°, Millésime)."""
    state = _state(engine, as_of)
    strands = [_strand(state, c, rules) for c in state.conv_win.values()]
    return sorted(strands, key=lambda s: (s["num_convention"], s["millesime"]))


# --------------------------------------------------------------------------- outputs (§7)
def expected_conventions(
    engine: Any, as_of: date, region: str, rules: Rules = DEFAULT_RULES
) -> list[dict[str, str]]:
    rows = []
    for s in expected_strands(engine, as_of, rules):
        if s["code_region"] != region:
            continue
        row = {
            "N° convention": s["num_convention"],
            "Millésime": str(s["millesime"]),
            "SIRET porteur": s["siret_porteur"],
            "Raison sociale": s["raison_sociale"],
            "Volet": s["volet"],
            "ETP conventionnés": _fmt(s["etp_conventionnes"], 4),
            "Fraction en poste": _fmt(s["fraction_en_poste"], 4),
            "ETP en poste": _fmt(s["etp_en_poste"], 4),
        }
        ind, per = s["indicators"], s["per_etp"]
        for key, header, _per_header, _obj in INDICATORS:
            if ind is None:
                row[header] = ""
            elif key == "heures":
                row[header] = _fmt(ind[key], 2)
            elif key == "beneficiaires_etp":
                row[header] = _fmt(ind[key], 4)
            else:
                row[header] = _fmt_int(ind[key])
        for key, _header, per_header, _obj in INDICATORS:
            row[per_header] = "" if per is None else _fmt(per[key], 4)
        row["Atteinte globale"] = _fmt(s["atteinte_globale"], 4)
        row["Subvention éligible"] = _fmt_cents(s["subvention_eligible_cents"])
        row["Avance versée"] = _fmt_cents(s["avance_versee_cents"])
        row["Solde théorique"] = _fmt_cents(s["solde_theorique_cents"])
        row["Décision"] = s["decision"]
        row["Montant proposé"] = _fmt_cents(s["montant_propose_cents"])
        row["Règles en échec"] = "|".join(s["failed"])
        rows.append({c: row[c] for c in CONVENTION_COLUMNS})
    return rows


def expected_anomalies(
    engine: Any, as_of: date, region: str, rules: Rules = DEFAULT_RULES
) -> list[dict[str, Any]]:
    rows = []
    for s in expected_strands(engine, as_of, rules):
        if s["code_region"] != region:
            continue
        for rid in s["failed"]:
            rows.append(
                {
                    "N° convention": s["num_convention"],
                    "Millésime": str(s["millesime"]),
                    "Volet": s["volet"],
                    "Règle": rid,
                    "Niveau": rules.level(rid),
                    "_mesure": s["rule_measures"].get(rid),
                }
            )
    return sorted(rows, key=lambda r: (r["N° convention"], int(r["Millésime"]), r["Règle"]))


def expected_files(engine: Any, as_of: date, region: str) -> list[dict[str, str]]:
    state = _state(engine, as_of)
    rows = []
    for e in state.entries:
        if e["region"] != region:
            continue
        sha = e["sha256"] or ""
        if sha and state.original_entry[sha] != e["file_id"]:
            statut = "doublon"
        elif e["status"] == "refused":
            statut = "refusé"
        elif e["status"] == "quarantined":
            statut = "en quarantaine"
        elif e["status"] == "loaded":
            rc = state.row_counts.get(sha, {"total": 0, "live": 0})
            statut = "remplacé" if rc["total"] > 0 and rc["live"] == 0 else "chargé"
        else:
            raise ValueError(f"unknown raw_files status {e['status']!r}")
        rows.append(
            {
                "Fichier": e["file_name"],
                "SHA-256": sha,
                "Date de réception": e["receipt_date"].isoformat(),
                "Statut": statut,
            }
        )
    return sorted(rows, key=lambda r: (r["Date de réception"], r["Fichier"], r["SHA-256"]))
