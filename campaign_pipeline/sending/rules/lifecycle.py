"""Campaign states, message statuses and what moves them (sending.md, "Campaigns", "Delivery").

The database applies a command as one conditional update,
`UPDATE campaigns SET status = target(...) WHERE id = ? AND status IN allowed_from(command)`,
and only when no row changed reads the current state to word `IllegalTransition`:
the table below is the single place that says which transition is legal.

`pause` remembers where the campaign was (the caller stores it, e.g. a
`paused_from` column) and `resume` goes back there, so a campaign paused
before its time comes is `scheduled` again and one paused mid-send is
`sending` again (a resumed sending campaign does not queue behind
CAMPAIGN_MAX_SENDING a second time).
"""

from collections.abc import Mapping

from campaign_pipeline.common.errors import InputError

CAMPAIGN_STATES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled", "failed")

MESSAGE_STATUSES = (
    "pending", "deferred", "submitting",
    "accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed",  # the provider's
    "skipped", "cancelled", "unknown",
)
FINAL_MESSAGE_STATUSES = frozenset({"delivered", "undelivered", "failed", "skipped", "cancelled", "unknown"})
# Reached the provider (even if rejected there, or with an outcome never established).
HANDED_OVER_STATUSES = frozenset({"submitting", "accepted", "queued", "sending", "sent",
                                  "delivered", "undelivered", "failed", "unknown"})
# Not yet handed over: what `cancel` turns into `cancelled`.
CANCELLABLE_MESSAGE_STATUSES = frozenset({"pending", "deferred"})
# Handed over, not final: what `poll` asks the provider about.
POLLED_STATUSES = frozenset({"accepted", "queued", "sending", "sent"})
SKIP_REASONS = ("suppressed", "no_window", "too_long")

# "A status only moves forward" (webhooks, polls): the provider's statuses in order; the three
# outcomes share the last rank, so none replaces another.
MESSAGE_STATUS_RANK = {"submitting": 0, "accepted": 1, "queued": 2, "sending": 3, "sent": 4,
                       "delivered": 5, "undelivered": 5, "failed": 5}

_RESUME = "<where it was paused>"
_DELETED = None
# command -> (states it is allowed from, resulting state). `start`, `finish` and `fail` are
# dispatch's and the rollup's own moves; users cannot reach `sending`, `sent` or `failed`.
_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "update": (frozenset({"draft"}), "draft"),
    "delete": (frozenset({"draft"}), _DELETED),
    "schedule": (frozenset({"draft"}), "scheduled"),
    "test": (frozenset({"draft"}), "draft"),
    "pause": (frozenset({"scheduled", "sending"}), "paused"),
    "resume": (frozenset({"paused"}), _RESUME),
    "cancel": (frozenset({"scheduled", "sending", "paused"}), "cancelled"),
    "start": (frozenset({"scheduled"}), "sending"),
    "finish": (frozenset({"sending"}), "sent"),
    "fail": (frozenset({"sent"}), "failed"),
}
COMMANDS = tuple(_TRANSITIONS)


class IllegalTransition(InputError):
    """A command the campaign's current state does not allow: a usage error naming that state."""

    def __init__(self, command: str, current: str, campaign_id: int | str | None = None):
        self.command, self.current, self.campaign_id = command, current, campaign_id
        which = "campaign" if campaign_id is None else f"campaign {campaign_id}"
        super().__init__(f"cannot {command} {which}: it is {current}")


def allowed_from(command: str) -> frozenset[str]:
    """The states `command` may be applied in (KeyError for a command that does not exist)."""
    return _TRANSITIONS[command][0]


def target(command: str, current: str, *, paused_from: str | None = None,
           campaign_id: int | str | None = None) -> str | None:
    """The state after `command` (None for `delete`: the campaign is gone).

    `paused_from` is the state `pause` left (needed by `resume` only). Raises
    IllegalTransition when `current` does not allow the command.
    """
    sources, result = _TRANSITIONS[command]
    if current not in sources:
        raise IllegalTransition(command, current, campaign_id)
    if result == _RESUME:
        if paused_from not in allowed_from("pause"):
            raise ValueError(f"a paused campaign comes from {sorted(allowed_from('pause'))}, not {paused_from!r}")
        return paused_from
    return result


def moves_forward(current: str, new: str) -> bool:
    """Whether provider news `new` may replace `current`; statuses outside the order
    (never handed over, or `unknown`) are not moved by provider news."""
    if current not in MESSAGE_STATUS_RANK or new not in MESSAGE_STATUS_RANK:
        return False
    return MESSAGE_STATUS_RANK[new] > MESSAGE_STATUS_RANK[current]


def campaign_rollup(counts: Mapping[str, int]) -> str:
    """A `sent` campaign's state from its message counts per status: `failed` when every
    message handed over ended `failed` or `undelivered`, and at least one did; else `sent`."""
    handed_over = {status: n for status, n in counts.items() if status in HANDED_OVER_STATUSES and n}
    failed = handed_over and set(handed_over) <= {"failed", "undelivered"}
    return "failed" if failed else "sent"
