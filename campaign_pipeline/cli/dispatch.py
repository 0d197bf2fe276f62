"""`campaign-cli dispatch`: send what is due, exactly once, inside the sending hours
(contract sending.md, "Sending"). Only argparse loads until `run`."""

from __future__ import annotations

import argparse
import json
import sys

from campaign_pipeline.common.values import argument_type, database_count


def add_parser(commands) -> None:
    dispatch = commands.add_parser("dispatch", help="hand due messages of scheduled and sending campaigns over")
    dispatch.add_argument("--campaign", metavar="ID", help="only this campaign (default: every due one)")
    dispatch.add_argument("--org", metavar="ORG", help="only this organization's campaigns")
    dispatch.add_argument("--dry-run", action="store_true", help="print what would happen now; change nothing")
    dispatch.add_argument("--until-done", action="store_true",
                          help="sleep until deferred messages are due and go on until the campaigns are done")
    dispatch.add_argument("--mps", type=argument_type(database_count), metavar="N",
                          help="messages per second (default: the organization's)")
    dispatch.add_argument("--progress", action="store_true", help="a progress bar on a terminal")


def run(args: argparse.Namespace, log) -> int:
    import os

    from campaign_pipeline.common.errors import InputError
    from campaign_pipeline.sending.artifacts import output_root
    from campaign_pipeline.sending.db.engine import open_database
    from campaign_pipeline.sending.dispatcher import Dispatcher, Settings, run_dispatch
    from campaign_pipeline.sending.providers import ConfigurationError, provider_from_env

    settings = Settings.from_env(os.environ, args.mps)
    try:
        provider = provider_from_env(os.environ)
    except ConfigurationError as error:
        raise InputError(str(error)) from None
    try:
        engine = open_database()
        if args.dry_run:
            document = _dry_run(engine, Dispatcher(engine, provider, log, settings), args)
            sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
            return 0
        document, status = run_dispatch(engine, provider, log, settings, organization_id=args.org,
                                        campaign_id=args.campaign, until_done=args.until_done,
                                        output_root=output_root(), keep_frozen=True)  # the process ends here
    finally:
        provider.close()
    sys.stdout.write(json.dumps(document) + "\n")
    return status


def _dry_run(engine, dispatcher, args) -> dict:
    from campaign_pipeline.sending.forecast import preview

    rows = dispatcher.due_campaigns(args.org, args.campaign)
    return {"run_id": dispatcher.run_id, "dry_run": True, "campaigns": [
        {"id": row.id, "status": row.status, **preview(engine, row.organization_id, row.id, mps=args.mps)}
        for row in rows]}
