"""The two ways a build can fail, as the contract's exit codes see them."""

# Said wherever an export turns out not to be JSON Lines.
JSON_LINES_HINT = "the export must be JSON Lines: one job object per line"


class InputError(Exception):
    """Bad input from the user (unreadable file, bad setting): exit 2."""


class RunFailed(Exception):
    """The run could not finish (portal unreachable, 401, storage): exit 1."""


class ExportUnreadable(InputError):
    """The portal export cannot be read at all (not JSON, not a file): exit 2."""
