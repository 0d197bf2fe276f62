"""`campaign-cli replies`: the replies people wrote (keywords left out), phones masked
unless --unmasked."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(commands) -> None:
    parser = commands.add_parser("replies", help="inbound replies that are no STOP/START/HELP keyword")
    parser.add_argument("--org", required=True, metavar="ORG", help="the organization acted for")
    parser.add_argument("--campaign", metavar="ID", help="only replies to this campaign's messages")
    parser.add_argument("--since", metavar="TIME", help="received at or after this RFC 3339 time (with its offset)")
    parser.add_argument("--unmasked", action="store_true", help="show phones in full (they are masked by default)")
    parser.add_argument("--json", action="store_true", help="one JSON document")


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.common.masking import mask_phone
    from campaign_pipeline.sending.campaigns import rfc3339
    from campaign_pipeline.sending.db.engine import open_database
    from campaign_pipeline.sending.replies import list_replies

    engine = open_database()
    try:
        found = list_replies(engine, args.org, campaign_id=args.campaign, since=args.since)
    finally:
        engine.dispose()
    shown = [{**reply, "received_at": rfc3339(reply["received_at"]),
              "phone": reply["phone"] if args.unmasked else mask_phone(reply["phone"])} for reply in found]
    log.info("replies_listed", organization_id=args.org, replies=len(shown), masked=not args.unmasked)
    if args.json:
        sys.stdout.write(json.dumps({"replies": shown}, ensure_ascii=False) + "\n")
    else:
        sys.stdout.writelines(
            "\t".join([reply["received_at"], reply["phone"], "" if reply["campaign_id"] is None
                       else str(reply["campaign_id"]), _one_line(reply["body"])]) + "\n" for reply in shown)
    return 0


def _one_line(body: str) -> str:
    # One reply per line: its own line breaks and tabs would break the columns.
    return " ".join(body.split())
