"""Versioned rules per year (contract §6 and §8), read from `rules/*.toml`.

`rules/default.toml` holds the contract's defaults; `rules/<year>.toml` overrides any part for
one year: the conventions of that millésime and the public contracts notified that year. The
compliance parameters are written to `ref_rules` and `ref_rule_levels` (by millésime), the
procurement ones to `ref_procurement_rules` (by year of notification); the SQL of `sql/` joins
them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from clauses.config import RULES_DIR
from clauses.contract.decp import YEARS
from clauses.contract.vocabulary import Level
from clauses.warehouse.engine import sql_query, sql_statements

RULE_IDS = ("R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09")
LEVELS = (Level.BLOCKING, Level.WARNING)  # what a compliance rule may weigh


@dataclass(frozen=True)
class Rules:
    version: str
    rate_default_bp: int
    rate_local_authority_bp: int
    funding_gap_tolerance_cents: int
    min_etp: float
    interim_report_months: int
    annual_report_tolerance: float
    attainment_threshold: float
    levels: dict[str, str]
    national_target_etp: float
    decp_min_amount: float  # euros HT: a contract is counted from this amount on (§8.2)
    pnad_social_share_target: float  # Objectif PNAD (§8.3)
    eu_threshold_works: float  # euros HT, `type` Travaux (§8.3)
    eu_threshold_supplies_services: float  # euros HT, any other type


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and key in base else value
    return merged


def _basis_points(value: Any) -> int:
    return int((Decimal(str(value)) * 10000).to_integral_value())


def rules_for(millesime: int, rules_dir: Path = RULES_DIR) -> Rules:
    """The rules of a millésime: the defaults overridden by `<millésime>.toml` when present."""
    data = tomllib.loads((rules_dir / "default.toml").read_text(encoding="utf-8"))
    specific = rules_dir / f"{millesime}.toml"
    if specific.exists():
        data = _merge(data, tomllib.loads(specific.read_text(encoding="utf-8")))
    levels = {rule: data["levels"][rule] for rule in RULE_IDS}
    bad = {rule: level for rule, level in levels.items() if level not in LEVELS}
    if bad:
        raise ValueError(f"unknown rule levels in {rules_dir}: {bad}")
    return Rules(
        version=str(data["version"]),
        rate_default_bp=_basis_points(data["amounts"]["rate_default"]),
        rate_local_authority_bp=_basis_points(data["amounts"]["rate_local_authority"]),
        funding_gap_tolerance_cents=_basis_points(data["amounts"]["funding_gap_tolerance"]) // 100,
        min_etp=float(data["thresholds"]["min_etp"]),
        interim_report_months=int(data["thresholds"]["interim_report_months"]),
        annual_report_tolerance=float(data["thresholds"]["annual_report_tolerance"]),
        attainment_threshold=float(data["thresholds"]["attainment_threshold"]),
        levels=levels,
        national_target_etp=float(data["national"]["target_etp"]),
        decp_min_amount=float(data["procurement"]["decp_min_amount"]),
        pnad_social_share_target=float(data["procurement"]["pnad_social_share_target"]),
        eu_threshold_works=float(data["procurement"]["eu_threshold_works"]),
        eu_threshold_supplies_services=float(data["procurement"]["eu_threshold_supplies_services"]),
    )


def refresh_rule_tables(connection: Connection, rules_dir: Path = RULES_DIR) -> dict[int, str]:
    """Write the rules of every millésime present in the warehouse; returns millésime → version."""
    millesimes = connection.execute(sql_query("select_millesimes")).scalars().all()
    for statement in sql_statements("delete_ref_rules"):
        connection.execute(statement)
    versions: dict[int, str] = {}
    for millesime in sorted(millesimes):
        rules = rules_for(millesime, rules_dir)
        versions[millesime] = rules.version
        connection.execute(
            sql_query("insert_ref_rules"),
            {
                "millesime": millesime,
                "version": rules.version,
                "rate_default_bp": rules.rate_default_bp,
                "rate_local_authority_bp": rules.rate_local_authority_bp,
                "min_etp": rules.min_etp,
                "funding_gap_tolerance_cents": rules.funding_gap_tolerance_cents,
                "interim_report_months": rules.interim_report_months,
                "annual_report_tolerance": rules.annual_report_tolerance,
                "attainment_threshold": rules.attainment_threshold,
            },
        )
        connection.execute(
            sql_query("insert_ref_rule_levels"),
            [{"millesime": millesime, "rule_id": r, "level": lv} for r, lv in rules.levels.items()],
        )
    return versions


def refresh_procurement_rules(
    connection: Connection, last_year: int, rules_dir: Path = RULES_DIR
) -> None:
    """Write the procurement rules of every year of notification a computation may count: from
    the first year a snapshot's row may hold (contract §8.1) to `last_year`, the year of the
    date (contracts notified later do not count). Every year, not only those of the snapshot in
    force: finding those would read the whole snapshot once more, and a year's row costs
    nothing to the SQL that joins it."""
    for statement in sql_statements("delete_ref_procurement_rules"):
        connection.execute(statement)
    rows = []
    for year in range(YEARS[0], max(last_year, YEARS[0]) + 1):
        rules = rules_for(year, rules_dir)
        rows.append(
            {
                "annee": year,
                "first_day": date(year, 1, 1),
                "next_first_day": date(year + 1, 1, 1),
                "version": rules.version,
                "decp_min_amount": rules.decp_min_amount,
                "pnad_social_share_target": rules.pnad_social_share_target,
                "eu_threshold_works": rules.eu_threshold_works,
                "eu_threshold_supplies_services": rules.eu_threshold_supplies_services,
            }
        )
    connection.execute(sql_query("insert_ref_procurement_rules"), rows)
