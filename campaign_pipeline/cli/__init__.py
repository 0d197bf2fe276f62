"""`campaign-cli`: the thin command line over the library (datasets and sending).

Start-up stays fast: only argparse and the standard library load before a
command runs; polars and the core load inside the command, and Dagster,
pandera and boto3 never load on this path.
"""

import argparse
import sys
from importlib import import_module

from campaign_pipeline.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    # argparse prints usage text and exits on a bad flag; stderr carries only
    # JSON log lines, so a bad flag becomes an InputError (exit 2) instead.
    def error(self, message: str):
        from campaign_pipeline.common.errors import InputError

        raise InputError(message)


# Commands: name -> module of this package with add_parser(subparsers) and
# run(args, log); each keeps its heavy imports inside run, so --help stays fast.
COMMANDS = {
    "build": "build", "db": "db", "org": "org", "kill-switch": "kill_switch",
    "campaign": "campaign", "messages": "messages", "suppress": "suppress",
    "webhooks": "webhooks", "replies": "replies",
    "dispatch": "dispatch", "poll": "poll",
}


def _command(module: str):
    return import_module(f"campaign_pipeline.cli.{module}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="campaign-cli",
        description="Build SMS campaign datasets from the photo-webshop portal, and manage and send campaigns.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected failures")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS.values():
        _command(module).add_parser(commands)
    commands.add_parser(
        "portal-sim",
        add_help=False,
        help="serve a portal simulator on 127.0.0.1 for demos and tests (portal-sim --help)",
    )
    commands.add_parser(
        "provider-sim",
        add_help=False,
        help="serve a Twilio Messaging API simulator on 127.0.0.1 for demos and tests (provider-sim --help)",
    )
    return parser


class _Version(argparse.Action):
    """--version, looked up only when asked for (metadata reads cost start-up time)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("campaign_pipeline")
        except PackageNotFoundError:
            text = "unknown (not installed)"
        sys.stdout.write(f"campaign-cli {text}\n")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["portal-sim"]:
        from campaign_pipeline.portal.simulator import main as simulator

        return simulator(argv[1:])
    if argv[:1] == ["provider-sim"]:
        from campaign_pipeline.sending.providers.twilio_simulator import main as provider_simulator

        return provider_simulator(argv[1:])
    debug = "--debug" in argv
    from campaign_pipeline.common.errors import InputError, RunFailed
    from campaign_pipeline.common.logs import JsonLog
    from campaign_pipeline.common.interrupts import Interrupted, raise_on_stopping_signals

    log = JsonLog()
    try:
        raise_on_stopping_signals()
        args = _parser().parse_args(argv)
        if args.command is None:
            raise InputError("a command is required: campaign-cli build --help")
        # A bar only where someone watches; piped or redirected, stderr stays JSON lines.
        log.progress_bar = getattr(args, "progress", False) and sys.stderr.isatty()
        return _command(COMMANDS[args.command]).run(args, log)
    except InputError as error:
        log.error("usage_error", message=str(error))
        return EXIT_USAGE
    except RunFailed as error:
        log.error("run_failed", message=str(error))
        return EXIT_FAILED
    except Interrupted as stop:
        log.error("interrupted", signal=stop.name, message=str(stop))
        return stop.exit_status
    except Exception as error:  # the last line of defence: still one JSON line
        if debug:
            raise
        log.error("run_failed", message=f"unexpected {type(error).__name__}: {error}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
