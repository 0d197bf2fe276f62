"""`campaign-cli webhooks`: serves the provider's callbacks (sending.md, "Delivery and replies")."""

from __future__ import annotations

import argparse

from campaign_pipeline.common.values import argument_type, port


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "webhooks", help="serve Twilio's status callbacks and inbound messages (POST /twilio/status, /twilio/inbound)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; behind a"
                        " reverse proxy keep it so)")
    parser.add_argument("--port", type=argument_type(port), default=8090, help="port (default 8090; 0 picks a free one)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes sharing the port (default 1; up to one per core: a steadier p99"
                             " under load, see docs/webhooks.md)")


def run(args: argparse.Namespace, log) -> int:
    from campaign_pipeline.sending.webhooks.server import serve

    return serve(args.host, args.port, args.workers, log)
