"""`campaign-cli messages export`: a campaign's messages as CSV (contract sending.md,
"Reports and artifacts")."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    group = subparsers.add_parser("messages", help="a campaign's messages")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(group))
    export = actions.add_parser("export", help="every message of a campaign, test messages included, as CSV")
    export.add_argument("--org", required=True, metavar="ORG", help="the organization acted for")
    export.add_argument("--campaign", required=True, metavar="ID")
    export.add_argument("--out", metavar="FILE", help="a file or s3://bucket/key (default: stdout)")


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.cli.outputs import check_output, write_output
    from campaign_pipeline.sending.db.engine import database_url, open_database
    from campaign_pipeline.sending.messages_export import export_messages

    check_output(args.out)
    engine = open_database(database_url())
    data, rows = export_messages(engine, args.org, args.campaign)
    write_output(data, args.out)
    log.info("messages_exported", campaign_id=args.campaign, organization_id=args.org, rows=rows)
    return 0
