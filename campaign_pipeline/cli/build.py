"""`campaign-cli build`: its arguments and its handler.

Only the standard library loads here; the build (polars, the rules) loads
inside `run`, so `campaign-cli --help` stays fast.
"""

import argparse
import json
import os
import sys

from campaign_pipeline.cli.exits import EXIT_OK
from campaign_pipeline.common.values import argument_type, http_url, positive_int, positive_number
from campaign_pipeline.dataset import defaults as build_defaults
from campaign_pipeline.portal import defaults as portal_defaults


def add_parser(commands) -> None:
    """Add the `build` command to the subparsers of the campaign-cli parser."""
    build = commands.add_parser(
        "build",
        help="build the campaign dataset and its exclusions",
        description="Build the campaign dataset (contract: campaign-dataset.md).",
    )
    source = build.add_mutually_exclusive_group()
    source.add_argument(
        "--jobs-url", metavar="URL", type=argument_type(http_url),
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
    build.add_argument(
        "--region", default=build_defaults.REGION,
        help=f"default phone region for national formats (default {build_defaults.REGION})",
    )
    build.add_argument("--out", metavar="PATH", help="dataset file or s3://bucket/key (default: stdout)")
    dataset_format = build.add_mutually_exclusive_group()
    dataset_format.add_argument(
        "--json", dest="dataset_format", action="store_const", const="json", help="write the dataset as JSON"
    )
    dataset_format.add_argument(
        "--parquet", dest="dataset_format", action="store_const", const="parquet", help="write the dataset as Parquet"
    )
    build.add_argument("--exclusions", metavar="PATH", help="exclusions file (always CSV) or s3://bucket/key")
    build.add_argument(
        "--concurrency", type=argument_type(positive_int), default=portal_defaults.CONCURRENCY, metavar="N",
        help=f"portal requests in flight (default {portal_defaults.CONCURRENCY})",
    )
    build.add_argument(
        "--rate-limit", type=argument_type(positive_number), default=None, metavar="RPS",
        help="at most this many portal requests per second (default: no limit)",
    )
    build.add_argument("--dry-run", action="store_true", help="change nothing, write nothing; print a summary")
    build.add_argument(
        "--progress", action="store_true",
        help="draw progress bars on stderr when it is a terminal (ignored otherwise: stderr stays JSON lines)",
    )
    build.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of unexpected failures")


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.dataset_build import BuildRequest, run_build

    from campaign_pipeline.common.values import checked

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
