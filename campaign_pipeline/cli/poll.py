"""`campaign-cli poll`: ask the provider now for the status of handed-over messages
that are not final, and record it (sending.md, "Delivery and replies"). Only
argparse loads until `run`."""

from __future__ import annotations

import argparse
import json
import sys

from campaign_pipeline.cli.exits import EXIT_FAILED, EXIT_OK


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_parser(commands) -> None:
    poll = commands.add_parser("poll", help="ask the provider for the status of handed-over messages not yet final")
    poll.add_argument("--campaign", metavar="ID", help="only this campaign's messages")
    poll.add_argument("--org", metavar="ORG", help="only this organization's messages")
    poll.add_argument("--due", action="store_true",
                      help="only the messages the poll schedule says are due (what the Dagster sensor asks)")
    poll.add_argument("--budget", type=_seconds, metavar="SECONDS",
                      help="start no new round of reads after this long (default: until done)")


def run(args: argparse.Namespace, log) -> int:
    import os

    from campaign_pipeline.common.errors import InputError, RunFailed
    from campaign_pipeline.sending.db.engine import open_database
    from campaign_pipeline.sending.organizations import check_organization_id
    from campaign_pipeline.sending.polling import poll, schedule_from_env
    from campaign_pipeline.sending.providers import AccountFailure, ConfigurationError, provider_from_env

    organization_id = None if args.org is None else check_organization_id(args.org)
    try:
        schedule = schedule_from_env(os.environ)
        provider = provider_from_env(os.environ)
    except (ValueError, ConfigurationError) as error:
        raise InputError(str(error)) from None
    engine = open_database()
    try:
        with log.timed("poll", due_only=args.due) as counters:
            report = poll(engine, provider, due_only=args.due, organization_id=organization_id,
                          campaign_id=args.campaign, schedule=schedule, budget_seconds=args.budget, log=log)
            counters.update(report.document())
    except AccountFailure as error:
        raise RunFailed(str(error)) from None
    finally:
        provider.close()
        engine.dispose()
    if report.note:
        log.warning("poll_not_possible", provider=provider.name, message=report.note)
    sys.stdout.write(json.dumps(report.document()) + "\n")  # what it learned, recorded, even when it failed
    unanswered = report.unavailable_note()
    if unanswered:
        log.error("poll_unavailable", provider=provider.name, unavailable=report.unavailable, message=unanswered)
        return EXIT_FAILED
    return EXIT_OK
