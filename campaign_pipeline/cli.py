"""`campaign-cli`: the thin command line over the core library.

Start-up stays fast: only argparse and the standard library load before a
command runs; polars and the core load inside the command, and Dagster,
pandera and boto3 never load on this path.
"""

import argparse
import json
import os
import sys

from campaign_pipeline.core.values import http_url, positive_int, positive_number

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    # argparse prints usage text and exits on a bad flag; stderr carries only
    # JSON log lines, so a bad flag becomes an InputError (exit 2) instead.
    def error(self, message: str):
        from campaign_pipeline.core.errors import InputError

        raise InputError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="campaign-cli",
        description="Build SMS campaign datasets from the photo-webshop portal.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected failures")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    build = commands.add_parser(
        "build",
        help="build the campaign dataset and its exclusions",
        description="Build the campaign dataset (contract: campaign-dataset.md).",
    )
    source = build.add_mutually_exclusive_group()
    source.add_argument(
        "--jobs-url", metavar="URL", type=_checked(http_url),
        help="portal base URL (else $PORTAL_URL); token from $PORTAL_TOKEN",
    )
    source.add_argument("--jobs", metavar="FILE", help="read a portal export (JSON Lines, .gz or not) instead")
    build.add_argument("--job-id", metavar="ID", nargs="+", action="extend", dest="job_ids", help="only these jobs")
    segment = build.add_mutually_exclusive_group()
    segment.add_argument("--buyers", dest="segments", action="store_const", const=("buyer",), help="only the buyers' dataset")
    segment.add_argument(
        "--non-buyers", dest="segments", action="store_const", const=("non_buyer",), help="only the non-buyers' dataset"
    )
    segment.add_argument("--both", dest="segments", action="store_const", const=("buyer", "non_buyer"), help="the default")
    build.add_argument("--group", metavar="NAME", nargs="+", action="extend", dest="groups", help="only these groups")
    build.add_argument(
        "--contact-source", choices=("user", "delivery"), nargs="+", action="extend",
        dest="contact_sources", help="only contacts of this source",
    )
    build.add_argument("--suppress", metavar="FILE", nargs="+", action="extend", default=[], help="numbers never to message")
    build.add_argument("--region", default="FI", help="default phone region for national formats (default FI)")
    build.add_argument("--out", metavar="PATH", help="dataset file or s3://bucket/key (default: stdout)")
    # The format follows --out's extension (.csv, .json, .parquet); a flag is
    # needed only for stdout or another extension, and must not contradict it.
    dataset_format = build.add_mutually_exclusive_group()
    dataset_format.add_argument(
        "--json", dest="dataset_format", action="store_const", const="json", help="write the dataset as JSON"
    )
    dataset_format.add_argument(
        "--parquet", dest="dataset_format", action="store_const", const="parquet", help="write the dataset as Parquet"
    )
    build.add_argument("--exclusions", metavar="PATH", help="exclusions file (always CSV) or s3://bucket/key")
    build.add_argument(
        "--concurrency", type=_checked(positive_int), default=16, metavar="N", help="portal requests in flight (default 16)"
    )
    build.add_argument(
        "--rate-limit", type=_checked(positive_number), default=None, metavar="RPS",
        help="at most this many portal requests per second (default: no limit)",
    )
    build.add_argument("--dry-run", action="store_true", help="change nothing, write nothing; print a summary")
    build.add_argument(
        "--progress", action="store_true",
        help="draw progress bars on stderr when it is a terminal (ignored otherwise: stderr stays JSON lines)",
    )
    # Accepted after the command name too; SUPPRESS keeps the subcommand from
    # resetting a --debug given before it.
    build.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of unexpected failures")
    commands.add_parser(
        "portal-sim",
        add_help=False,
        help="serve a portal simulator on 127.0.0.1 for demos and tests (portal-sim --help)",
    )
    commands.add_parser(
        "provider-sim",
        add_help=False,
        help="serve a Twilio Messaging API simulator on 127.0.0.1 for demos and tests (provider-sim --help)",
    )
    return parser


def _checked(check):
    """An argparse type from a check of core/values.py, keeping its reason."""

    def parse(text: str):
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


class _Version(argparse.Action):
    """--version, looked up only when asked for (metadata reads cost start-up time)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("campaign_pipeline")
        except PackageNotFoundError:
            text = "unknown (not installed)"
        sys.stdout.write(f"campaign-cli {text}\n")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["portal-sim"]:
        from campaign_pipeline.portal.simulator import main as simulator

        return simulator(argv[1:])
    if argv[:1] == ["provider-sim"]:
        from campaign_pipeline.sending.providers.twilio_simulator import main as provider_simulator

        return provider_simulator(argv[1:])
    debug = "--debug" in argv
    from campaign_pipeline.core.errors import InputError, RunFailed
    from campaign_pipeline.core.logs import JsonLog
    from campaign_pipeline.interrupts import Interrupted, raise_on_stopping_signals

    log = JsonLog()
    try:
        raise_on_stopping_signals()
        args = _parser().parse_args(argv)
        if args.command is None:
            raise InputError("a command is required: campaign-cli build --help")
        # A bar only where someone watches; piped or redirected, stderr stays JSON lines.
        log.progress_bar = args.progress and sys.stderr.isatty()
        return _build(args, log)
    except InputError as error:
        log.error("usage_error", message=str(error))
        return EXIT_USAGE
    except RunFailed as error:
        log.error("run_failed", message=str(error))
        return EXIT_FAILED
    except Interrupted as stop:
        log.error("interrupted", signal=stop.name, message=str(stop))
        return stop.exit_status
    except Exception as error:  # the last line of defence: still one JSON line
        if debug:
            raise
        log.error("run_failed", message=f"unexpected {type(error).__name__}: {error}")
        return EXIT_FAILED


def _build(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.runner import BuildRequest, run_build

    from campaign_pipeline.core.values import checked

    jobs_url = args.jobs_url
    if not jobs_url and not args.jobs and os.environ.get("PORTAL_URL"):
        jobs_url = checked("PORTAL_URL", http_url, os.environ["PORTAL_URL"])
    request = BuildRequest(
        jobs_file=args.jobs,
        jobs_url=jobs_url,
        job_ids=tuple(args.job_ids) if args.job_ids else None,
        segments=args.segments or ("buyer", "non_buyer"),
        groups=tuple(args.groups) if args.groups else None,
        contact_sources=tuple(args.contact_sources) if args.contact_sources else None,
        suppress=tuple(args.suppress),
        region=args.region,
        out=args.out,
        dataset_format=args.dataset_format,
        exclusions=args.exclusions,
        concurrency=args.concurrency,
        requests_per_second=args.rate_limit,
        dry_run=args.dry_run,
    )
    summary = run_build(request, log)
    if args.dry_run:
        sys.stdout.write(json.dumps(summary) + "\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
