"""`campaign-cli org set|show`: an organization's sending settings."""

import argparse
import json
import sys


def add_parser(commands) -> None:
    org = commands.add_parser("org", help="an organization's sender, time zone, window, quota and rate")
    actions = org.add_subparsers(dest="org_command", metavar="ACTION", required=True, parser_class=type(org))
    set_ = actions.add_parser("set", help="create or update an organization (unset flags keep their value)")
    set_.add_argument("organization_id", metavar="ORG")
    set_.add_argument("--sender", metavar="S", help="E.164 number, alphanumeric id or MG… service id ('' clears)")
    set_.add_argument("--timezone", metavar="TZ", help="IANA time zone (default Europe/Helsinki)")
    set_.add_argument("--window", metavar="HH:MM-HH:MM", help="sending hours, local time (default 09:00-20:00)")
    set_.add_argument("--daily-quota", metavar="N", help="messages a day at most ('none': no quota, the default)")
    set_.add_argument("--mps", metavar="N", help="messages a second at most (default 10)")
    set_.add_argument("--help-text", metavar="TEXT", help="the answer to HELP and INFO ('' clears)")
    show = actions.add_parser("show", help="print an organization's settings")
    show.add_argument("organization_id", metavar="ORG")
    show.add_argument("--json", action="store_true", help="one JSON document")


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.common.errors import InputError
    from campaign_pipeline.sending import organizations as orgs
    from campaign_pipeline.sending.db.engine import open_database

    organization_id = orgs.check_organization_id(args.organization_id)
    changes = _changes(args) if args.org_command == "set" else {}
    engine = open_database()
    try:
        if args.org_command == "set":
            organization = orgs.set_organization(engine, organization_id, changes)
            log.info("organization_set", organization_id=organization_id, changed=sorted(changes))
        else:
            with engine.connect() as connection:
                organization = orgs.get(connection, organization_id)
            if organization is None:
                raise InputError(f"organization {organization_id!r} not found (campaign-cli org set creates it)")
    finally:
        engine.dispose()
    document = organization.as_json()
    if args.org_command == "set" or args.json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        width = max(map(len, document))
        sys.stdout.write("".join(f"{name:<{width}}  {'' if value is None else value}\n"
                                 for name, value in document.items()))
    return 0


def _changes(args: argparse.Namespace) -> dict:
    """The validated settings given on the command line, as table columns."""
    from campaign_pipeline.common.values import checked, database_count
    from campaign_pipeline.sending import organizations as orgs
    from campaign_pipeline.sending.rules.windows import check_timezone, parse_window

    changes: dict = {}
    if args.sender is not None:
        changes["sender"] = orgs.check_sender(args.sender) if args.sender != "" else None
    if args.timezone is not None:
        check_timezone(args.timezone)
        changes["timezone"] = args.timezone
    if args.window is not None:
        changes["window_start"], changes["window_end"] = str(parse_window(args.window)).split("-")
    if args.daily_quota is not None:
        changes["daily_quota"] = (None if args.daily_quota.strip().lower() == "none"
                                  else checked("--daily-quota", database_count, args.daily_quota))
    if args.mps is not None:
        changes["mps"] = checked("--mps", database_count, args.mps)
    if args.help_text is not None:
        changes["help_text"] = args.help_text if args.help_text != "" else None
    return changes
