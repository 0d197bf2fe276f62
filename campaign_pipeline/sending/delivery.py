"""Provider news about handed-over messages (sending.md, "Delivery and replies"):
a status that only moves forward, its error code, and the campaign rollup.

Plain functions over the campaign database, shared by the webhook server
(status callbacks, a batch at a time: webhooks/group_commit.py) and `poll`
(the provider asked directly).

A batch of news is one guarded UPDATE from a VALUES list,
`... WHERE provider_message_id = news.sid AND rank(status) < news.rank`, with
the rank written in SQL from lifecycle.MESSAGE_STATUS_RANK
(db/driver_statements.py): duplicates and callbacks arriving out of order
match no row, and two racing batches cannot both win. Nothing is read before
it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, exists, literal_column, update

from campaign_pipeline.sending.db import driver_statements
from campaign_pipeline.sending.db.engine import writing
from campaign_pipeline.sending.db.models import UtcDateTime, campaigns, messages, utc_now
from campaign_pipeline.sending.rules import lifecycle

MOVED, STALE, UNMATCHED, IGNORED = "moved", "stale", "unmatched", "ignored"
# The statuses a provider reports that the order knows (`submitting` is the product's own).
PROVIDER_STATUSES = frozenset(lifecycle.MESSAGE_STATUS_RANK) - {"submitting"}
FAILED_OUTCOMES = ("failed", "undelivered")


@dataclass(frozen=True)
class StatusUpdate:
    """One piece of provider news: `status` of the message the provider calls
    `provider_message_id`, with its `error_code`, learnt `at` (aware)."""

    provider_message_id: str
    status: str
    error_code: str | None
    at: datetime


@dataclass(frozen=True)
class Applied:
    """What a batch did: one outcome per update, in the order given."""

    outcomes: tuple[str, ...]

    @property
    def moved(self) -> int:
        return self.outcomes.count(MOVED)


def apply_statuses(engine: Engine, updates: Sequence[StatusUpdate]) -> Applied:
    """Records every update that moves its message forward, all in ONE
    transaction (all or nothing: an error raises and changes nothing); then
    rolls up the campaigns of the failed outcomes, after that commit.

    Outcomes: MOVED, STALE (the message is already there or further),
    UNMATCHED (no message has that provider id: a callback that overtook the
    dispatcher's commit, or another system's message; `poll` catches the
    former up) or IGNORED (a status outside the order, e.g. Twilio's `read`).
    Several updates of one message in a batch act as if applied one by one:
    the furthest wins (the first of equal rank); the others count as STALE."""
    winners = _furthest_per_message(updates)
    moved: dict[str, tuple[int, str]] = {}
    known: dict[str, tuple[int, str, str]] = {}
    if winners:
        # Write lock at BEGIN on SQLite: another worker's batch then waits on busy_timeout
        # instead of this one failing when its read snapshot cannot become a write.
        with writing(engine) as connection, connection.begin():
            dialect = connection.dialect
            from campaign_pipeline.sending.db.bulk import storing  # here: bulk brings polars

            process_time = storing(connection, messages.c.status_at)
            for chunk in driver_statements.chunks(sorted(winners)):
                parameters = []
                for sid in chunk:
                    news = updates[winners[sid]]
                    parameters += [sid, lifecycle.MESSAGE_STATUS_RANK[news.status], news.status,
                                   process_time(news.at), news.error_code or None]
                rows = connection.exec_driver_sql(driver_statements.status_moves(dialect, len(chunk)),
                                                  tuple(parameters)).all()
                moved.update((sid, (campaign_id, kind)) for sid, campaign_id, kind in rows)
            unmoved = [sid for sid in winners if sid not in moved]
            for chunk in driver_statements.chunks(unmoved):
                known.update((sid, (campaign_id, kind, status)) for sid, campaign_id, kind, status in
                             connection.exec_driver_sql(driver_statements.known_messages(dialect, len(chunk)),
                                                        tuple(chunk)))
    outcomes = []
    for index, news in enumerate(updates):
        sid = news.provider_message_id
        if news.status not in PROVIDER_STATUSES:
            outcomes.append(IGNORED)
        elif sid in moved:
            outcomes.append(MOVED if winners[sid] == index else STALE)
        else:
            outcomes.append(STALE if sid in known else UNMATCHED)
    # A failure repeated (the provider retrying after a 500) rolls up again: the
    # first time may have committed the status and then failed before its rollup.
    failed_campaigns = sorted(
        {campaign_id for sid, (campaign_id, kind) in moved.items()
         if kind == "campaign" and updates[winners[sid]].status in FAILED_OUTCOMES}
        | {campaign_id for sid, (campaign_id, kind, status) in known.items()
           if kind == "campaign" and status in FAILED_OUTCOMES and updates[winners[sid]].status in FAILED_OUTCOMES})
    if failed_campaigns:
        # After the commit, in a transaction of its own: of two last failures racing,
        # the one that commits second sees both, so the rollup is never missed.
        with writing(engine) as connection, connection.begin():
            for campaign_id in failed_campaigns:
                roll_up(connection, campaign_id)
    return Applied(tuple(outcomes))


def apply_status(engine: Engine, provider_message_id: str, status: str, error_code: str | None = None,
                 *, now: datetime | None = None) -> str:
    """apply_statuses of one update; returns its outcome."""
    news = StatusUpdate(provider_message_id, status, error_code or None, now or utc_now())
    return apply_statuses(engine, [news]).outcomes[0]


def _furthest_per_message(updates: Sequence[StatusUpdate]) -> dict[str, int]:
    """provider id -> index of its furthest update (the first of equal rank),
    among the statuses the order knows."""
    winners: dict[str, int] = {}
    for index, news in enumerate(updates):
        if news.status not in PROVIDER_STATUSES:
            continue
        best = winners.get(news.provider_message_id)
        rank = lifecycle.MESSAGE_STATUS_RANK[news.status]
        if best is None or rank > lifecycle.MESSAGE_STATUS_RANK[updates[best].status]:
            winners[news.provider_message_id] = index
    return winners


def _listed(statuses) -> list:
    """The rules' own status names written into the SQL: an IN of bound parameters
    is expanded anew at every execution, which cost more than the rollup itself."""
    assert all(status.isidentifier() for status in statuses)  # constants, never input
    return [literal_column(f"'{status}'") for status in sorted(statuses)]


# Built once (building it cost 3 ms a rollup, a rollup per batch holding a failure).
_OWN = (messages.c.campaign_id == bindparam("campaign_id"), messages.c.kind == "campaign")
_ROLL_UP = (
    update(campaigns)
    .where(campaigns.c.id == bindparam("campaign_id"),
           campaigns.c.status.in_(_listed(lifecycle.allowed_from("fail"))),
           exists().where(*_OWN, messages.c.status.in_(_listed(FAILED_OUTCOMES))),
           ~exists().where(*_OWN, messages.c.status.in_(
               _listed(lifecycle.HANDED_OVER_STATUSES - set(FAILED_OUTCOMES)))))
    .values(status=lifecycle.target("fail", "sent"), updated_at=bindparam("now", type_=UtcDateTime))
)


def roll_up(connection: Connection, campaign_id: int, *, now: datetime | None = None) -> bool:
    """A `sent` campaign becomes `failed` when every message it handed over ended
    `failed` or `undelivered`, and at least one did (lifecycle.campaign_rollup,
    as one guarded UPDATE of two index probes rather than a count of every
    message, because it runs on each batch holding a failure). True when it changed.

    The dispatcher calls it too, right after a campaign becomes `sent`."""
    changed = connection.execute(_ROLL_UP, {"campaign_id": campaign_id, "now": now or utc_now()}).rowcount
    return changed == 1
