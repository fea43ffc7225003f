"""The ``crm`` command: ``crm report`` runs every notebook for a period and publishes HTML."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crmlib import __version__
from crmlib.errors import CrmError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description="CRM Workbook command line.")
    parser.add_argument("--version", action="version", version=f"crm {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser(
        "report",
        help="run the notebooks for a period and publish reports/<period>/",
        description="Execute every notebook with papermill for one period (or a range of months) "
        "and publish the HTML report. Exits 1 when a notebook fails; the previous report stays.",
    )
    when = report.add_mutually_exclusive_group()
    when.add_argument("--period", help="month to report, YYYY-MM (default: last complete month in the data)")
    when.add_argument("--as-of", dest="as_of", help="analysis date YYYY-MM-DD; data after it is ignored")
    when.add_argument("--periods", help="back-fill every month in FROM..TO, e.g. 2011-01..2011-11")
    report.add_argument("--data", action="append", default=[], metavar="PATH",
                        help="transaction file (repeatable); replaces the sources in workbook.yml")
    report.add_argument("--config", type=Path, help="workbook.yml to use (default: the nearest one)")
    report.add_argument("--only", metavar="NOTEBOOK", help="re-run one notebook inside the period (its file name without .ipynb)")
    report.add_argument("--output", type=Path, help="reports folder (default: reports/ beside workbook.yml)")
    report.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from crmlib import report

    options = dict(
        config_path=args.config,
        data_paths=args.data or None,
        only=args.only,
        output_dir=args.output,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    try:
        if args.periods:
            results = report.run_periods(args.periods, **options)
        else:
            results = [report.run_report(period=args.period, as_of=args.as_of, **options)]
    except CrmError as exc:
        print(f"crm: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("crm: interrupted; the previous report is unchanged", file=sys.stderr)
        return 130
    for result in results:
        print(f"report {result.period} (data up to {result.as_of.date()}) in {result.seconds:.1f} s: "
              f"{result.period_dir / 'index.html'}")
    print(f"open {results[-1].index_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
