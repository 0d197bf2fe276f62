"""Provider news about handed-over messages (sending.md, "Delivery and replies"):
a status that only moves forward, its error code, and the campaign rollup.

Plain functions over the campaign database, shared by the webhook server
(status callbacks) and `poll` (the provider asked directly).

A status change is one guarded UPDATE, `... WHERE provider_message_id = :sid
AND rank(status) < rank(:new)`, with the rank written in SQL from
lifecycle.MESSAGE_STATUS_RANK: duplicates and callbacks arriving out of order
match no row, and two racing callbacks cannot both win. Nothing is read
before it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, String, bindparam, case, exists, func, literal, select, update

from campaign_pipeline.sending.db.models import UtcDateTime, campaigns, messages, utc_now
from campaign_pipeline.sending.rules import lifecycle

MOVED, STALE, UNMATCHED, IGNORED = "moved", "stale", "unmatched", "ignored"
# The statuses a provider reports that the order knows (`submitting` is the product's own).
PROVIDER_STATUSES = frozenset(lifecycle.MESSAGE_STATUS_RANK) - {"submitting"}
FAILED_OUTCOMES = ("failed", "undelivered")

# Statuses outside the order (never handed over, `unknown`) rank above every
# provider status, so provider news never moves them (as lifecycle.moves_forward).
_OUTSIDE = max(lifecycle.MESSAGE_STATUS_RANK.values()) + 1
_RANK = case(lifecycle.MESSAGE_STATUS_RANK, value=messages.c.status, else_=literal(_OUTSIDE))

# Built once: SQLAlchemy then reuses the compiled form, which matters at a thousand callbacks
# a second (building and keying the statement anew cost more than executing it).
_MOVE = (
    update(messages)
    .where(messages.c.provider_message_id == bindparam("sid"), _RANK < bindparam("rank"))
    .values(status=bindparam("new_status"), status_at=bindparam("at", type_=UtcDateTime),
            updated_at=bindparam("at", type_=UtcDateTime),
            error_code=func.coalesce(bindparam("code", type_=String), messages.c.error_code))
    .returning(messages.c.campaign_id, messages.c.kind)
)
_KNOWN = select(literal(1)).where(messages.c.provider_message_id == bindparam("sid"))


def apply_status(engine: Engine, provider_message_id: str, status: str, error_code: str | None = None,
                 *, now: datetime | None = None) -> str:
    """Records the provider's `status` of one message if it moves it forward,
    with `error_code` when given; a failed outcome then rolls the campaign up.

    Returns MOVED, STALE (the message is already there or further), UNMATCHED
    (no message has that provider id: a callback that overtook the dispatcher's
    commit, or another system's message; `poll` catches the former up) or
    IGNORED (a status outside the order, e.g. Twilio's `read`)."""
    if status not in PROVIDER_STATUSES:
        return IGNORED
    now = now or utc_now()
    with engine.begin() as connection:
        moved = connection.execute(_MOVE, {
            "sid": provider_message_id, "rank": lifecycle.MESSAGE_STATUS_RANK[status], "new_status": status,
            "at": now, "code": error_code or None}).first()
        if moved is None:
            known = connection.execute(_KNOWN, {"sid": provider_message_id}).first()
            return STALE if known else UNMATCHED
    # After the commit, in a transaction of its own: of two last failures racing,
    # the one that commits second sees both, so the rollup is never missed.
    if status in FAILED_OUTCOMES and moved.kind == "campaign":
        with engine.begin() as connection:
            roll_up(connection, moved.campaign_id, now=now)
    return MOVED


@dataclass(frozen=True)
class StatusUpdate:
    """One piece of provider news: a callback, or the answer of a poll."""

    provider_message_id: str
    status: str
    error_code: str | None
    at: datetime


def apply_statuses(engine: Engine, updates: Sequence[StatusUpdate]) -> int:
    """`apply_status` for a batch: the same guarded forward-only UPDATE for each, in one
    transaction; then, after the commit, the rollup of each campaign that got a failed
    outcome (each in a transaction of its own, as in apply_status). Returns how many
    messages moved; news that is stale, unmatched or outside the order moves nothing."""
    failed_campaigns: dict[int, datetime] = {}
    moved = 0
    with engine.begin() as connection:
        for news in updates:
            if news.status not in PROVIDER_STATUSES:
                continue
            row = connection.execute(_MOVE, {
                "sid": news.provider_message_id, "rank": lifecycle.MESSAGE_STATUS_RANK[news.status],
                "new_status": news.status, "at": news.at, "code": news.error_code or None}).first()
            if row is None:
                continue
            moved += 1
            if news.status in FAILED_OUTCOMES and row.kind == "campaign":
                failed_campaigns[row.campaign_id] = news.at
    for campaign_id, at in sorted(failed_campaigns.items()):
        with engine.begin() as connection:
            roll_up(connection, campaign_id, now=at)
    return moved


def roll_up(connection: Connection, campaign_id: int, *, now: datetime | None = None) -> bool:
    """A `sent` campaign becomes `failed` when every message it handed over ended
    `failed` or `undelivered`, and at least one did (lifecycle.campaign_rollup,
    as one guarded UPDATE of two index probes rather than a count of every
    message, because it runs on each failure callback). True when it changed.

    The dispatcher calls it too, right after a campaign becomes `sent`."""
    own = (messages.c.campaign_id == campaign_id, messages.c.kind == "campaign")
    others = sorted(lifecycle.HANDED_OVER_STATUSES - set(FAILED_OUTCOMES))
    changed = connection.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id,
               campaigns.c.status.in_(sorted(lifecycle.allowed_from("fail"))),
               exists().where(*own, messages.c.status.in_(FAILED_OUTCOMES)),
               ~exists().where(*own, messages.c.status.in_(others)))
        .values(status=lifecycle.target("fail", "sent"), updated_at=now or utc_now())
    ).rowcount
    return changed == 1
