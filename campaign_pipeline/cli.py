"""`campaign-cli`: the thin command line over the core library.

Start-up stays fast: only argparse and the standard library load before a
command runs; polars and the core load inside the command, and Dagster,
pandera and boto3 never load on this path.
"""

import argparse
import json
import os
import sys

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
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    build = commands.add_parser(
        "build",
        help="build the campaign dataset and its exclusions",
        description="Build the campaign dataset (contract: campaign-dataset.md).",
    )
    source = build.add_mutually_exclusive_group()
    source.add_argument("--jobs-url", metavar="URL", help="portal base URL (else $PORTAL_URL); token from $PORTAL_TOKEN")
    source.add_argument("--jobs", metavar="FILE", help="read a portal export (JSON Lines, .gz or not) instead")
    build.add_argument("--job-id", metavar="ID", nargs="+", action="extend", dest="job_ids", help="only these jobs")
    segment = build.add_mutually_exclusive_group()
    segment.add_argument("--buyers", dest="segments", action="store_const", const=("buyer",))
    segment.add_argument("--non-buyers", dest="segments", action="store_const", const=("non_buyer",))
    segment.add_argument("--both", dest="segments", action="store_const", const=("buyer", "non_buyer"), help="the default")
    build.add_argument("--group", metavar="NAME", nargs="+", action="extend", dest="groups", help="only these groups")
    build.add_argument(
        "--contact-source", choices=("user", "delivery"), nargs="+", action="extend",
        dest="contact_sources", help="only contacts of this source",
    )
    build.add_argument("--suppress", metavar="FILE", nargs="+", action="extend", default=[], help="numbers never to message")
    build.add_argument("--region", default="FI", help="default phone region for national formats (default FI)")
    build.add_argument("--out", metavar="PATH", help="dataset file or s3://bucket/key (default: stdout)")
    build.add_argument("--json", action="store_true", help="write the dataset as JSON instead of CSV")
    build.add_argument("--exclusions", metavar="PATH", help="exclusions CSV file or s3://bucket/key")
    build.add_argument("--concurrency", type=_positive_int, default=16, metavar="N", help="portal requests in flight (default 16)")
    build.add_argument(
        "--rate-limit", type=float, default=None, metavar="RPS",
        help="at most this many portal requests per second (default: no limit)",
    )
    build.add_argument("--dry-run", action="store_true", help="change nothing, write nothing; print a summary")
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


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

    log = JsonLog()
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            raise InputError("a command is required: campaign-cli build --help")
        return _build(args, log)
    except InputError as error:
        log.error("usage_error", message=str(error))
        return EXIT_USAGE
    except RunFailed as error:
        log.error("run_failed", message=str(error))
        return EXIT_FAILED
    except Exception as error:  # the last line of defence: still one JSON line
        if debug:
            raise
        log.error("run_failed", message=f"unexpected {type(error).__name__}: {error}")
        return EXIT_FAILED


def _build(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.runner import BuildRequest, run_build

    request = BuildRequest(
        jobs_file=args.jobs,
        jobs_url=args.jobs_url or (None if args.jobs else os.environ.get("PORTAL_URL")),
        job_ids=tuple(args.job_ids) if args.job_ids else None,
        segments=args.segments or ("buyer", "non_buyer"),
        groups=tuple(args.groups) if args.groups else None,
        contact_sources=tuple(args.contact_sources) if args.contact_sources else None,
        suppress=tuple(args.suppress),
        region=args.region,
        out=args.out,
        dataset_format="json" if args.json else "csv",
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
