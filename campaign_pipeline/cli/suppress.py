"""`campaign-cli suppress add|remove|import|export|sync`: numbers never to message."""

import argparse
import json
import sys
from pathlib import Path

REASONS = ("unsubscribe", "dnc", "blacklist", "stop_reply", "provider_opt_out", "complaint")
SYNC_PROVIDERS = ("aws-sns",)  # the providers that can list their opted-out numbers


def add_parser(commands) -> None:
    suppress = commands.add_parser("suppress", help="numbers never to message, per organization or for all")
    actions = suppress.add_subparsers(dest="suppress_command", metavar="ACTION", required=True,
                                      parser_class=type(suppress))
    for name, text in (("add", "suppress numbers"), ("remove", "lift suppressions"),
                       ("import", "suppress every number of a file (CSV with a phone column, or one a line)"),
                       ("export", "write suppressions as CSV"),
                       ("sync", "add the provider's opted-out numbers as provider_opt_out suppressions")):
        action = actions.add_parser(name, help=text)
        scope = action.add_mutually_exclusive_group(required=name != "export")
        if name == "sync":
            action.add_argument("--provider", choices=SYNC_PROVIDERS, required=True,
                                help="aws-sns: ListPhoneNumbersOptedOut of the account (standard AWS environment)")
        scope.add_argument("--org", metavar="ORG", dest="organization_id", help="one organization")
        scope.add_argument("--all", action="store_true", help="every organization (stored as '*')")
        if name in ("add", "import"):
            action.add_argument("--reason", choices=REASONS, default="dnc", help="default dnc")
        if name not in ("export", "sync"):
            action.add_argument("--region", default="FI", help="region of national formats (default FI)")
        if name in ("add", "remove"):
            action.add_argument("phones", metavar="PHONE", nargs="+")
        elif name == "import":
            action.add_argument("file", metavar="FILE")
        else:
            action.add_argument("--out", metavar="FILE", help="a file or s3://bucket/key (default: stdout)")


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.cli.outputs import check_output, write_output
    from campaign_pipeline.sending import suppressions
    from campaign_pipeline.sending.db.engine import open_database

    scope = _scope(args)
    if args.suppress_command == "export":
        check_output(args.out)
    elif args.suppress_command == "import":
        from campaign_pipeline.files.suppression_file import read_suppression_file

        entries = read_suppression_file(args.file)
    elif args.suppress_command == "sync":
        entries = _opted_out(args.provider)
    engine = open_database()
    try:
        if args.suppress_command == "sync":
            with log.timed("suppressions_synced", scope=scope, provider=args.provider) as counters:
                # SNS lists E.164 numbers; one that is not is counted invalid, never fatal.
                result = {"opted_out": len(entries), **suppressions.import_entries(
                    engine, scope, entries, "US", "provider_opt_out", args.provider, log=log).as_dict()}
                counters.update(result)
        elif args.suppress_command == "add":
            # As import: an entry that is no valid number is counted invalid and skipped, never fatal.
            result = suppressions.import_entries(engine, scope, args.phones, args.region, args.reason, "cli").as_dict()
        elif args.suppress_command == "remove":
            result = suppressions.remove_entries(engine, scope, args.phones, args.region)
        elif args.suppress_command == "import":
            with log.timed("suppressions_imported", scope=scope) as counters:
                result = suppressions.import_entries(
                    engine, scope, entries, args.region, args.reason, f"import:{Path(args.file).name}", log=log,
                ).as_dict()
                counters.update(result)
        else:
            text = suppressions.export_csv(suppressions.export_rows(engine, scope))
            write_output(text.encode("utf-8"), args.out)
            log.info("suppressions_exported", scope=scope or "every", rows=text.count("\n") - 1)
            return 0
    finally:
        engine.dispose()
    if args.suppress_command not in ("import", "sync"):
        log.info(f"suppressions_{'added' if args.suppress_command == 'add' else 'removed'}", scope=scope, **result)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def _opted_out(provider: str) -> list[str]:
    """Every number the provider's account lists as opted out (read before the database
    is touched: a provider that cannot answer changes nothing)."""
    import os

    from campaign_pipeline.common.errors import InputError, RunFailed
    from campaign_pipeline.sending.providers import AccountFailure, ConfigurationError, ProviderUnavailable
    from campaign_pipeline.sending.providers.sns import SnsProvider

    try:
        sns = SnsProvider.from_env(os.environ)
    except ConfigurationError as error:
        raise InputError(str(error)) from None
    try:
        return list(sns.list_opted_out())
    except (AccountFailure, ProviderUnavailable) as error:
        raise RunFailed(str(error)) from None
    finally:
        sns.close()


def _scope(args: argparse.Namespace) -> str | None:
    from campaign_pipeline.sending.organizations import check_organization_id

    if args.all:
        return "*"
    if args.organization_id is None:
        return None
    return check_organization_id(args.organization_id)
