"""The `clauses` command line: the pipeline's steps by hand."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

from clauses.config import ConfigurationError, data_dir_from_env, load_settings
from clauses.warehouse.engine import WarehouseUnavailable

log = logging.getLogger("clauses")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date AAAA-MM-JJ: {text}") from error


def _regions(text: str) -> set[str]:
    return {r.strip().zfill(2) for r in text.split(",") if r.strip()}


def cmd_generate(args: argparse.Namespace) -> int:
    from clauses.sample.generate import generate_sample

    landing = Path(args.landing) if args.landing else data_dir_from_env() / "landing"
    try:
        summary = generate_sample(
            landing,
            scale=args.scale,
            seed=args.seed,
            defects=args.defects,
            decp_rows=args.decp_rows,
        )
    except FileExistsError:
        log.error("%s is not empty: the sample is only written into an empty landing zone", landing)
        return 2
    shown = {k: v for k, v in asdict(summary).items() if k not in ("defects", "variants")}
    print(json.dumps(shown, ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from clauses.run.validate import check_files

    return check_files([Path(p) for p in args.files], region=args.region)


def cmd_run(args: argparse.Namespace) -> int:
    from clauses.run.pipeline import run_date

    report = run_date(
        _settings(), args.date, regions=args.regions, live=args.live or None, force=args.force
    )
    _print_report(report)
    if args.json_report:
        Path(args.json_report).write_text(
            json.dumps(asdict(report), ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
    return 1 if report.failed_regions() else 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from clauses.run.pipeline import run_date

    settings = _settings()
    day, failed = args.start, 0
    while day <= args.end:
        report = run_date(
            settings,
            day,
            regions=args.regions,
            live=False,
            force=args.force,
            receive_until=args.end,  # every file of the range received by its first date
        )
        failed += bool(report.failed_regions())
        log.info("rebuilt %s: %s", day, report.decisions)
        day += timedelta(days=1)
    return 1 if failed else 0


def cmd_explain(args: argparse.Namespace) -> int:
    from clauses.run.audit import explain, explain_procurement
    from clauses.warehouse.engine import make_engine

    if args.region is not None:  # public procurement (contract §8.3): a region and a year
        if args.year is None or args.convention is not None:
            log.error("explain --region needs --year, and no --convention")
            return 2
        engine = make_engine(_settings().warehouse_url)
        print(explain_procurement(engine, args.region, args.year, args.date), end="")
        return 0
    if args.convention is None or args.millesime is None:
        log.error("explain needs --convention and --millesime, or --region and --year")
        return 2
    print(
        explain(make_engine(_settings().warehouse_url), args.convention, args.millesime, args.date),
        end="",
    )
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from clauses.run.audit import diff
    from clauses.warehouse.engine import make_engine

    region = next(iter(args.region)) if args.region else None
    print(diff(make_engine(_settings().warehouse_url), args.start, args.end, region), end="")
    return 0


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    print(f"Run {report.run_id} as of {report.as_of} ({'live' if report.live else 'backfill'})")
    print(f"{'region':<8}{'received':>9}{'loaded':>8}{'quarant.':>9}{'refused':>8}{'rows':>9}")
    for region, s in sorted(report.regions.items()):
        print(
            f"{region:<8}{s['received']:>9}{s['loaded']:>8}{s['quarantined']:>9}"
            f"{s['refused']:>8}{s['rows_loaded']:>9}"
            + (f"  ERROR {s['error']}" if s["error"] else "")
        )
    if report.decp:
        d = report.decp
        print(
            f"{'decp':<8}{d['received']:>9}{d['loaded']:>8}{d['quarantined']:>9}"
            f"{d['refused']:>8}  (copies {d['duplicates']}; contracts {d['contracts']}, versions "
            f"+{d['versions_added']} -{d['versions_closed']}; examine {d['examine_s']:.1f} s, "
            f"load {d['load_s']:.1f} s)"
        )
    print("Timings:", ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items()))
    print(
        f"Decisions ({report.computation}):",
        ", ".join(f"{k}: {v}" for k, v in sorted(report.decisions.items())),
    )
    for path, reason in report.outside:
        print(f"refused in landing/: {path}: {reason}")
    if report.extracts:
        root = Path(next(iter(report.extracts.values()))).parent.parent
        print(f"Extracts: {root}/<region>/{report.as_of}/ ({len(report.extracts)} folders)")


def _settings():  # type: ignore[no-untyped-def]
    try:
        return load_settings()
    except ConfigurationError as error:
        log.error("%s", error)
        raise SystemExit(2) from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clauses",
        description="Consolidation of the social-insertion-clause facilitators' activity and "
        "balance-payment decisions (PNAD). Configuration: CLAUSES_DATA_DIR, "
        "CLAUSES_WAREHOUSE_URL, CLAUSES_PSEUDONYM_KEY (or CLAUSES_DEMO=1).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write a deterministic sample national dataset")
    p.add_argument("--scale", type=float, default=1.0, help="1 = a national year (default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--defects", action="store_true", help="add bad files of known kinds")
    p.add_argument("--landing", help="landing folder (default: <data>/landing)")
    p.add_argument(
        "--decp-rows",
        type=int,
        help="fill the latest DECP snapshot up to about N rows (national size: 2000000)",
    )
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("validate", help="check files as the pipeline would, before sending them")
    p.add_argument("files", nargs="+")
    p.add_argument("--region", help="region code the files will be dropped in (for registers)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="one nightly run as of a date")
    p.add_argument("--date", type=_date, required=True)
    p.add_argument("--regions", type=_regions, help="comma-separated region codes")
    p.add_argument(
        "--live",
        action="store_true",
        help="move loose files into the date's folder (default: only when the date is today)",
    )
    p.add_argument("--json-report", help="also write the run's report (counts, timings) as JSON")
    p.add_argument(
        "--force",
        action="store_true",
        help="recompute the figures and rewrite the extracts even where nothing changed",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("rebuild", help="recompute every date of a range (a backfill by hand)")
    p.add_argument("--from", dest="start", type=_date, required=True)
    p.add_argument("--to", dest="end", type=_date, required=True)
    p.add_argument("--regions", type=_regions)
    p.add_argument(
        "--force",
        action="store_true",
        help="recompute the figures and rewrite the extracts even where nothing changed",
    )
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser(
        "explain",
        help="how every amount of a strand was obtained, or (--region, --year) which public "
        "contracts make a region's share with a social consideration and which Marchés rows "
        "accompany them, as of a date",
    )
    p.add_argument("--convention")
    p.add_argument("--millesime", type=int)
    p.add_argument("--region", type=lambda text: text.strip().zfill(2), help="a region code")
    p.add_argument("--year", type=int, help="the year of notification of the contracts")
    p.add_argument("--date", type=_date, required=True)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("diff", help="decisions and amounts that changed between two dates")
    p.add_argument("--from", dest="start", type=_date, required=True)
    p.add_argument("--to", dest="end", type=_date, required=True)
    p.add_argument("--region", type=_regions)
    p.set_defaults(func=cmd_diff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # GX logs its own set-up at INFO, hundreds of lines a process
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except WarehouseUnavailable as error:
        log.error("%s", error)
        return 3


def command() -> None:
    """The `clauses` command (and `python -m clauses.cli`): `main`, then the process exits
    without collecting its objects one last time. The interpreter's exit walks every object
    still alive looking for cycles; after a run that imported Great Expectations, that walk
    took half a second, for memory the process gives back whole anyway."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    command()
