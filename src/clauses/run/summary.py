"""Print what a run left as of a date: files per status and decisions per region, and where the
extracts are (`make run` ends with it)."""

from __future__ import annotations

import argparse
from datetime import date

from clauses.config import load_settings
from clauses.contract.kinds import REGIONS
from clauses.contract.vocabulary import DECISIONS, STATUTS
from clauses.warehouse.engine import make_engine, sql_query


def print_summary(as_of: date) -> None:
    settings = load_settings()
    engine = make_engine(settings.warehouse_url)
    with engine.connect() as connection:
        files = connection.execute(sql_query("select_file_status_counts"), {"as_of": as_of}).all()
        decisions = connection.execute(sql_query("select_decision_counts"), {"as_of": as_of}).all()
    per_file = {(r, s): n for r, s, n in files}
    per_decision = {(r, d): n for r, d, n in decisions}
    header = (
        f"{'région':<28}"
        + "".join(f"{s[:10]:>11}" for s in STATUTS)
        + " | "
        + "".join(f"{d[:10]:>11}" for d in DECISIONS)
    )
    print(f"Consolidation as of {as_of.isoformat()}: files by status | strands by decision")
    print(header)
    for code, (name, _) in REGIONS.items():
        print(
            f"{code + ' ' + name:<28.28}"
            + "".join(f"{per_file.get((code, s), 0):>11}" for s in STATUTS)
            + " | "
            + "".join(f"{per_decision.get((code, d), 0):>11}" for d in DECISIONS)
        )
    day = as_of.isoformat()
    print(
        f"\nExtracts: {settings.extracts_dir}/<region>/{day}/ "
        f"(conformite_<region>_{day}.xlsx, conventions.csv, anomalies.csv, fichiers.csv, "
        f"synthese.csv, manifest.json)"
    )
    print(f"National: {settings.extracts_dir}/national/{day}/consolidation_nationale_{day}.xlsx")
    print(f"Quarantine reports: {settings.quarantine_dir}/<region>/<date>/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    print_summary(parser.parse_args().date)


if __name__ == "__main__":
    main()
