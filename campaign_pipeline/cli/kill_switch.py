"""`campaign-cli kill-switch on|off|status`: the global stop for sending."""

import argparse
import json
import sys


def add_parser(commands) -> None:
    switch = commands.add_parser("kill-switch", help="stop (on) or allow (off) every hand-over to the provider")
    switch.add_argument("state", choices=("on", "off", "status"))


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.sending.db.engine import open_database
    from campaign_pipeline.sending.kill_switch import kill_switch, set_kill_switch

    engine = open_database()
    try:
        if args.state != "status":
            set_kill_switch(engine, args.state == "on")
            log.info("kill_switch_set", state=args.state)
        with engine.connect() as connection:
            on, since = kill_switch(connection)
    finally:
        engine.dispose()
    document = {"kill_switch": "on" if on else "off",
                "since": since.strftime("%Y-%m-%dT%H:%M:%SZ") if since else None}
    sys.stdout.write(json.dumps(document) + "\n")
    return 0
