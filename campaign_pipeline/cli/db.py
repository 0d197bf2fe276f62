"""`campaign-cli db upgrade`: apply the campaign database's pending migrations."""

import argparse
import json
import sys


def add_parser(commands) -> None:
    db = commands.add_parser("db", help="the campaign database ($CAMPAIGN_DB_URL, else .state/campaign.db)")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True, parser_class=type(db))
    actions.add_parser("upgrade", help="apply pending migrations and print the revision")


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.sending.db.engine import database_url, masked_url, open_database

    url = database_url()
    engine = open_database(url)  # migrates first, as every command does
    try:
        from campaign_pipeline.sending.db.engine import upgrade

        revision = upgrade(engine)
    finally:
        engine.dispose()
    log.info("database_upgraded", revision=revision, database=masked_url(url))
    sys.stdout.write(json.dumps({"revision": revision}) + "\n")
    return 0
