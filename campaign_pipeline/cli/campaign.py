"""`campaign-cli campaign ...`: a campaign's lifecycle (contract sending.md, "Campaigns").

Only argparse loads here until `run`: the services, SQLAlchemy and polars load
inside it, so `campaign-cli --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys

SEGMENTS = ("buyer", "non_buyer")
# The states of rules/lifecycle.py, repeated for --status's choices: importing
# the rules here would load them for every command's --help.
STATES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled", "failed")


def add_parser(subparsers) -> None:
    group = subparsers.add_parser("campaign", help="create, schedule, pause, cancel and inspect campaigns")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(group))

    create = actions.add_parser("create", help="a new draft campaign")
    _org(create)
    create.add_argument("--name", required=True)
    create.add_argument("--body", required=True, help="the message template: {column} of the dataset, {{ }} literal braces")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", metavar="FILE", help="a dataset file (CSV or JSON as build writes them)")
    source.add_argument("--day", metavar="YYYY-MM-DD", help="the checked dataset of that day, loaded by Dagster")
    create.add_argument("--segment", choices=SEGMENTS,
                        help="default buyer; a --dataset file of one segment: that one")
    create.add_argument("--window", metavar="HH:MM-HH:MM", help="sending hours (default: the organization's)")

    update = actions.add_parser("update", help="change a draft's name or body")
    _id_and_org(update)
    update.add_argument("--name")
    update.add_argument("--body")

    schedule = actions.add_parser("schedule", help="freeze the audience and schedule a draft")
    _id_and_org(schedule)
    schedule.add_argument("--at", metavar="TIME", help="RFC 3339 with an offset, at most 14 days ahead (default: now)")

    for action, text in (
        ("delete", "delete a draft"),
        ("pause", "pause a scheduled or sending campaign"),
        ("resume", "resume a paused campaign"),
        ("cancel", "cancel a campaign: messages not yet handed over are cancelled"),
    ):
        _id_and_org(actions.add_parser(action, help=text))

    for action, text in (("show", "one campaign, its message counts and its delivery funnel"), ("preview", "the audience's forecast")):
        parser = actions.add_parser(action, help=text)
        _id_and_org(parser)
        parser.add_argument("--json", action="store_true", help="one JSON document")

    test = actions.add_parser("test", help="send one test message of a draft to a number")
    _id_and_org(test)
    test.add_argument("--to", required=True, metavar="PHONE", help="the number, any format")
    test.add_argument("--region", default="FI", help="region of a national number (default FI)")

    listing = actions.add_parser("list", help="the organization's campaigns")
    _org(listing)
    listing.add_argument("--status", choices=STATES)
    listing.add_argument("--json", action="store_true", help="one JSON document")


def _org(parser) -> None:
    parser.add_argument("--org", required=True, metavar="ORG", help="the organization acted for")


def _id_and_org(parser) -> None:
    parser.add_argument("id", metavar="ID")
    _org(parser)


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.sending import campaigns, forecast
    from campaign_pipeline.sending.db.engine import database_url, open_database

    engine = open_database(database_url())
    org, action = args.org, args.action
    if action == "create":
        created = campaigns.create_campaign(
            engine, org, name=args.name, body=args.body, segment=args.segment,
            dataset=args.dataset, day=args.day, window=args.window,
        )
        log.info("campaign_created", campaign_id=created["id"], organization_id=org)
        return _print(created)
    if action == "list":
        listed = campaigns.list_campaigns(engine, org, status=args.status)
        return _print(listed) if args.json else _print_lines(_list_line(c) for c in listed)
    if action == "show":
        shown = campaigns.show_campaign(engine, org, args.id)
        if args.json:
            return _print(shown)
        from campaign_pipeline.sending.rules.funnel import lines

        funnel = shown.pop("funnel")
        return _print_lines([*_show_lines(shown), *lines(funnel)])
    if action == "preview":
        previewed = forecast.preview(engine, org, args.id)
        return _print(previewed) if args.json else _print_lines(_show_lines(previewed))
    if action == "test":
        return _test(engine, args, log)
    if action == "update":
        changed = campaigns.update_campaign(engine, org, args.id, name=args.name, body=args.body)
    elif action == "schedule":
        changed = campaigns.schedule_campaign(engine, org, args.id, at=args.at, log=log)
    else:
        changed = getattr(campaigns, f"{action}_campaign")(engine, org, args.id)
    event = "campaign_cancelled" if action == "cancel" else f"campaign_{action}d"
    log.info(event, campaign_id=changed["id"], organization_id=org, status=changed.get("status"))
    return _print(changed)


def _test(engine, args, log) -> int:
    import os

    from campaign_pipeline.common.errors import InputError
    from campaign_pipeline.sending.providers import ConfigurationError, provider_from_env
    from campaign_pipeline.sending.test_message import send_test_message

    try:
        provider = provider_from_env(os.environ)
    except ConfigurationError as error:
        raise InputError(str(error)) from None
    try:
        document, status = send_test_message(engine, provider, log, args.org, args.id, args.to, args.region)
    finally:
        provider.close()
    _print(document)
    return status


def _print(document) -> int:
    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    return 0


def _print_lines(lines) -> int:
    sys.stdout.writelines(line + "\n" for line in lines)
    return 0


def _list_line(campaign: dict) -> str:
    return "\t".join(str(campaign[key]) for key in ("id", "status", "scheduled_at", "name"))


def _show_lines(document: dict, indent: str = ""):
    for key, value in document.items():
        if isinstance(value, dict):
            yield f"{indent}{key}:"
            yield from _show_lines(value, indent + "  ")
        else:
            yield f"{indent}{key}: {'' if value is None else value}"
