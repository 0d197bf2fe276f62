"""Reply keywords and their consequence (sending.md, "Delivery and replies").

A keyword is the whole body, trimmed and compared without case; runs of
whitespace inside count as one space, so "stop  all" is STOP ALL. A body that
merely contains a keyword ("please stop") is an ordinary reply that people read.
"""

from __future__ import annotations

STOP, START, HELP = "stop", "start", "help"

STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE", "STOP ALL"})
START_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

_ACTIONS = {**dict.fromkeys(STOP_KEYWORDS, STOP), **dict.fromkeys(START_KEYWORDS, START),
            **dict.fromkeys(HELP_KEYWORDS, HELP)}
# Twilio's Advanced Opt-Out names the keyword class it matched (its own list, or an
# account's custom keywords in another language); it has already blocked or unblocked
# the number, so the product follows for STOP and START. Its HELP it answers itself.
_OPT_OUT_TYPES = {"STOP": STOP, "START": START}


def keyword_action(body: str, opt_out_type: str | None = None) -> str | None:
    """`stop`, `start` or `help` for a keyword reply, None for anything else."""
    action = _ACTIONS.get(" ".join(body.split()).upper())
    if action is None and opt_out_type:
        action = _OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    return action
