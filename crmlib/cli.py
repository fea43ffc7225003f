"""The ``crm`` command: ``crm report`` runs every notebook for a period and publishes HTML.

Every failure ends in one ``crm: error: ...`` line on stderr and exit status 1, never a
Python traceback: problems the workbook raises on purpose (:class:`CrmError`) carry their
own message; disk, permission and decoding problems are put in words by
:func:`describe_error`. ``CRM_DEBUG=1`` prints the traceback as well.
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import sys
import traceback
from pathlib import Path

from crmlib import __version__
from crmlib.errors import ConfigError, CrmError

#: Environment variable that makes ``crm`` print the traceback of a failure too.
DEBUG_ENV = "CRM_DEBUG"


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
    report.add_argument("--language", help="report language for this run, en or ko (default: language: in workbook.yml)")
    report.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return parser


def check_period(period: str | None) -> None:
    """Refuse a ``--period`` that is not a month ``YYYY-MM`` (``2011-13`` gave a pandas
    ``DateParseError`` traceback)."""
    if period is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period.strip()):
        raise ConfigError(f"--period: cannot read '{period}' as a month (use YYYY-MM, e.g. 2011-11)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _report(args)
    except KeyboardInterrupt:
        print("crm: interrupted; the previous report is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place every failure is turned into one line
        if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
            traceback.print_exc()
        print(f"crm: error: {describe_error(exc)}", file=sys.stderr)
        return 1


def _report(args: argparse.Namespace) -> int:
    check_period(args.period)
    from crmlib import report

    options = dict(
        config_path=args.config,
        data_paths=args.data or None,
        only=args.only,
        language=args.language,
        output_dir=args.output,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    if args.periods:
        results = report.run_periods(args.periods, **options)
    else:
        results = [report.run_report(period=args.period, as_of=args.as_of, **options)]
    for result in results:
        print(f"report {result.period} (data up to {result.as_of.date()}) in {result.seconds:.1f} s: "
              f"{result.period_dir / 'index.html'}")
    print(f"open {results[-1].index_path}")
    return 0


def describe_error(exc: BaseException) -> str:
    """A failure in one line of plain words, naming the file where it is known.

    :class:`CrmError` messages are kept (their example rows and hint joined onto the
    line); disk full, permission, missing file, truncated input and decoding problems get
    their own wording; anything else is named as unexpected, with how to see the details.
    """
    if isinstance(exc, CrmError):
        return one_line(str(exc))
    if isinstance(exc, OSError):
        return _describe_os_error(exc)
    if isinstance(exc, EOFError):
        return one_line(f"a file ended early: it is truncated or damaged ({exc or 'end of file'}); "
                        f"copy or export it again")
    if isinstance(exc, UnicodeDecodeError):
        byte = exc.object[exc.start:exc.start + 1]
        return (f"text that cannot be read as {exc.encoding} (byte {byte!r} at position {exc.start}); set "
                f"'encoding' for the source in workbook.yml (e.g. cp949, cp1252, latin-1)")
    if isinstance(exc, MemoryError):
        return "out of memory; close other programs, or report a shorter period or fewer sources"
    first = one_line(str(exc)) or "(no message)"
    return (f"unexpected {type(exc).__name__}: {first}; this is a bug in the workbook, not in your data "
            f"or settings: run again with {DEBUG_ENV}=1 to see the details")


def _describe_os_error(exc: OSError) -> str:
    path = exc.filename if exc.filename is not None else exc.filename2
    where = str(path) if path is not None else "the output folder"
    text = str(exc)
    code = exc.errno
    if code == errno.ENOSPC or "No space left on device" in text:
        return f"no space left on device writing {where}; free some space and run again"
    if code in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        return f"cannot write to {where}: permission denied"
    if code == errno.EROFS:
        return f"cannot write to {where}: the file system is read-only"
    if code == errno.EDQUOT:
        return f"disk quota exceeded writing {where}; free some space and run again"
    if code == errno.ENOENT or isinstance(exc, FileNotFoundError):
        return f"file or folder not found: {where}"
    return one_line(f"{exc.strerror or text or type(exc).__name__} ({where})")


def one_line(text: str) -> str:
    """A multi-line message (a :class:`~crmlib.errors.DataError` with example rows and a
    hint) joined onto one line: ``problem; example rows: a | b; hint: ...``."""
    parts: list[str] = []
    for line in str(text).splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if parts and parts[-1].endswith(":"):
            parts[-1] += " " + stripped
        elif parts and line.startswith("    "):  # a further example row
            parts[-1] += " | " + stripped
        else:
            parts.append(stripped)
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
