"""The messages' and attempts' state changes around a hand-over (sending.md, "Exactly once").

Every change is a guarded UPDATE that names the state it expects
(`WHERE id = ? AND status = 'submitting' AND attempts = ?`), so a change made
from a stale view matches nothing instead of overwriting someone else's. The
order that makes "exactly once" hold across kill -9:

1. `claim`: `pending`/`deferred` -> `submitting`, attempts + 1, an attempt row
   (number, started_at, run_id) - committed BEFORE the provider is called;
2. the provider call;
3. `finish` (the answer), `retry` (surely not created: a new attempt) or
   `release` (back to `pending`), committed after it.

A process killed between 1 and 3 leaves `submitting` with an open attempt row:
the next dispatch reconciles it with the provider before anything else
(dispatcher.py). Claims and finishes take many messages per transaction where
that weakens nothing: a claim commits before any of its messages is sent, and
each finish commits outcomes that have already happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter

from sqlalchemy import Connection, Engine, and_, bindparam, case, exists, func, insert, or_, select, update

from campaign_pipeline.sending import suppressions
from campaign_pipeline.sending.db.models import suppressions as suppression_rows
from campaign_pipeline.sending.db import driver_statements
from campaign_pipeline.sending.db.bulk import execute_many, stored, storing
from campaign_pipeline.sending.db.driver_statements import chunks
from campaign_pipeline.sending.db.engine import ORGANIZATION_LOCK, serialize, writing
from campaign_pipeline.sending.db.models import ALL_ORGANIZATIONS, attempts, campaigns, messages, switches, utc_now
from campaign_pipeline.sending.kill_switch import KILL_SWITCH
from campaign_pipeline.sending.rules.lifecycle import POLLED_STATUSES
from campaign_pipeline.sending.rules.polling import first_poll

DUE_STATUSES = ("pending", "deferred")


@dataclass(frozen=True)
class Due:
    id: int
    phone: str
    body: str


@dataclass(frozen=True)
class Claimed:
    id: int
    attempt: int
    phone: str
    body: str
    started_at: datetime


@dataclass(frozen=True)
class Answer:
    """What to record for one finished attempt."""

    message_id: int
    attempt: int
    status: str  # the message's new status
    outcome: str  # the attempt's: accepted, rejected, opt_out, reconciled, unknown
    provider_status: str | None = None
    provider_message_id: str | None = None
    error_code: str | None = None
    handed_over_at: datetime | None = None  # the throttled instant of the call, when later than the claim


def _due_now(now: datetime):
    return or_(messages.c.status == "pending",
               and_(messages.c.status == "deferred", messages.c.not_before <= now))


def due(connection: Connection, campaign_id: int, now: datetime, limit: int, after_id: int = 0) -> list[Due]:
    """The campaign's messages due now, in id order (the audience's order).

    Pending and deferred are read apart: each is one range of the (campaign_id, status)
    index in id order, read only as far as `limit`; one query with their OR sorted every
    remaining row of the campaign for each batch (quadratic in the audience)."""
    pending, deferred = (connection.execute(
        select(messages.c.id, messages.c.phone, messages.c.body)
        .where(messages.c.campaign_id == campaign_id, messages.c.kind == "campaign", messages.c.id > after_id,
               condition)
        .order_by(messages.c.id).limit(limit)
    ).all() for condition in (messages.c.status == "pending",
                              and_(messages.c.status == "deferred", messages.c.not_before <= now)))
    rows = pending + deferred
    if pending and deferred:  # each is in id order already (comparing Rows costs ~5 us a pair)
        rows.sort(key=itemgetter(0))
    return [Due(i, phone, body) for i, phone, body in rows[:limit]]


def counts(connection: Connection, campaign_id: int) -> dict[str, int]:
    return dict(connection.execute(
        select(messages.c.status, func.count()).where(messages.c.campaign_id == campaign_id,
                                                      messages.c.kind == "campaign")
        .group_by(messages.c.status)).all())


def next_not_before(connection: Connection, campaign_id: int) -> datetime | None:
    return connection.execute(
        select(func.min(messages.c.not_before)).where(messages.c.campaign_id == campaign_id,
                                                      messages.c.kind == "campaign",
                                                      messages.c.status == "deferred")).scalar()


def suppressed_among(connection: Connection, organization_id: str, phones: Iterable[str]) -> set[str]:
    """Which of these numbers are suppressed now, for the organization or for every one."""
    phones = sorted(set(phones))
    found: set[str] = set()
    for chunk in chunks(phones):
        found.update(phone for (phone,) in connection.exec_driver_sql(
            driver_statements.suppressed_among(connection.dialect, len(chunk)),
            (organization_id, ALL_ORGANIZATIONS, *chunk)))
    return found


def handed_over_since(connection: Connection, organization_id: str, since: datetime) -> int:
    """Campaign messages of the organization handed over since `since` (the daily quota;
    test messages are not counted)."""
    return connection.execute(
        select(func.count()).select_from(messages)
        .where(messages.c.organization_id == organization_id, messages.c.kind == "campaign",
               messages.c.handed_over_at >= since)).scalar_one()


def skip(engine: Engine, reasons: dict[int, str]) -> int:
    """`skipped` with a reason, for messages still due (pending or deferred)."""
    return _set_due(engine, reasons, lambda reason: {"status": "skipped", "reason": reason, "not_before": None})


def defer(engine: Engine, not_before: dict[int, datetime]) -> int:
    return _set_due(engine, not_before, lambda when: {"status": "deferred", "not_before": when})


def _set_due(engine: Engine, by_message: dict[int, object], values) -> int:
    """One UPDATE per distinct value (an audience shares a few windows and reasons)."""
    groups: dict[object, list[int]] = {}
    for message_id, value in by_message.items():
        groups.setdefault(value, []).append(message_id)
    changed = 0
    with writing(engine) as connection, connection.begin():
        now = utc_now()
        for value, ids in groups.items():
            for chunk in chunks(ids):
                changed += connection.execute(
                    update(messages).where(messages.c.id.in_(chunk),
                                           messages.c.status.in_(DUE_STATUSES))
                    .values(updated_at=now, **values(value))).rowcount
    return changed


# The claim's and the suppression check's statements, built once: a statement built per
# chunk with its 500 ids as literals cost ~1 s of Python per 10^5 messages (SQLAlchemy
# coerces each literal); an expanding parameter takes the chunk's ids as they are.
# Neither has a `campaign_id = ?` term (the ids are the campaign's, read by `due`): with
# it SQLite plans the (campaign_id, status) index over the whole audience for each chunk.
_IDS, _NOW = bindparam("ids", expanding=True), bindparam("now", type_=messages.c.updated_at.type)
_CLAIM = (
    update(messages).where(messages.c.id.in_(_IDS), _due_now(_NOW))
    .values(status="submitting", attempts=messages.c.attempts + 1, handed_over_at=_NOW, not_before=None,
            updated_at=_NOW)
    .returning(messages.c.id, messages.c.attempts, messages.c.phone, messages.c.body)
)
_SKIP_SUPPRESSED = (
    update(messages)
    .where(messages.c.id.in_(_IDS), _due_now(_NOW),
           exists().where(suppression_rows.c.phone == messages.c.phone,
                          suppression_rows.c.organization_id.in_(bindparam("scopes", expanding=True))))
    .values(status="skipped", reason="suppressed", not_before=None, updated_at=_NOW)
    .returning(messages.c.id)
)


@dataclass
class ClaimResult:
    claimed: list[Claimed]
    over_quota: list[int]  # ids the day's quota refused, still due
    stopped: str | None  # why nothing may be handed over: kill_switch, or the campaign's state
    suppressed: list[int] = field(default_factory=list)  # ids found suppressed at the claim: now skipped


def claim(engine: Engine, campaign_id: int, organization_id: str, ids: Sequence[int], run_id: str, now: datetime,
          quota: int | None = None, day_start: datetime | None = None) -> ClaimResult:
    """Marks these due messages `submitting` with a new attempt each, in one transaction
    that first re-reads the kill switch and the campaign's state (step 1) and counts the
    day's hand-overs (step 4), so no claim ever goes past a switch, a pause or the quota
    the database saw at that moment. The suppressions are looked up again in the same
    transaction (step 2): a STOP committed while the dispatch was deciding its batch
    makes that message `skipped` (`suppressed`) instead of claimed."""
    with writing(engine) as connection, connection.begin():
        stopped = why_stopped(connection, campaign_id)
        if stopped or not ids:
            return ClaimResult([], [], stopped)
        suppressed = _skip_suppressed(connection, organization_id, ids, now)
        if suppressed:
            skipped = set(suppressed)
            ids = [i for i in ids if i not in skipped]
        over: list[int] = []
        if quota is not None:
            # Dispatchers of the organization's other campaigns count the same day: one at a time.
            serialize(connection, ORGANIZATION_LOCK, organization_id)
            left = max(0, quota - handed_over_since(connection, organization_id, day_start))
            ids, over = list(ids[:left]), list(ids[left:])
        claimed: list[Claimed] = []
        for chunk in chunks(ids):
            rows = connection.execute(_CLAIM, {"ids": chunk, "now": now}).all()
            # Unpacked, not read by name (Row attributes cost ~2 us each, 10^5 of them a campaign).
            claimed.extend(Claimed(i, attempt, phone, body, now) for i, attempt, phone, body in rows)
        started = stored(connection, attempts.c.started_at, now)
        execute_many(connection, _OPEN_ATTEMPT, [
            {"m_id": c.id, "o_id": organization_id, "m_attempt": c.attempt, "a_started": started, "a_run": run_id}
            for c in claimed])
        claimed.sort(key=lambda c: c.id)
        return ClaimResult(claimed, over, None, suppressed)


def _skip_suppressed(connection: Connection, organization_id: str, ids: Sequence[int], now: datetime) -> list[int]:
    """`skipped` (`suppressed`) for those of these due messages whose number is suppressed
    now, for the organization or for every one: one guarded UPDATE per chunk, no read first."""
    skipped: list[int] = []
    for chunk in chunks(ids):
        skipped.extend(connection.execute(_SKIP_SUPPRESSED, {
            "ids": chunk, "now": now, "scopes": [organization_id, ALL_ORGANIZATIONS]}).scalars())
    return sorted(skipped)


def why_stopped(connection: Connection, campaign_id: int | None) -> str | None:
    """Why nothing may be handed over now: the kill switch, or the campaign not `sending`
    (None: a test message's campaign, whose state it leaves alone)."""
    kill = connection.execute(select(exists().where(switches.c.name == KILL_SWITCH, switches.c.value == "on"))).scalar()
    if kill:
        return "kill_switch"
    if campaign_id is None:
        return None
    status = connection.execute(select(campaigns.c.status).where(campaigns.c.id == campaign_id)).scalar()
    return None if status == "sending" else (status or "deleted")


def stopped(engine: Engine, campaign_id: int) -> str | None:
    with engine.connect() as connection:
        return why_stopped(connection, campaign_id)


_FINISH_MESSAGE = (
    update(messages)
    .where(messages.c.id == bindparam("m_id"), messages.c.status == "submitting",
           messages.c.attempts == bindparam("m_attempt"))
)
_ANSWER_MESSAGE = _FINISH_MESSAGE.values(
    status=bindparam("m_status"), provider_message_id=bindparam("m_provider_id"), error_code=bindparam("m_error_code"),
    status_at=bindparam("a_finished"), updated_at=bindparam("a_finished"), next_poll_at=bindparam("m_next_poll"))
# An answer with its own hand-over instant (a live call's throttled moment). Kept apart
# because SQLite maintains every index on a column the SET names, whether or not its value
# changes: answers without one (proof, reconciliation) leave (organization_id, handed_over_at) alone.
_ANSWER_HANDED_MESSAGE = _ANSWER_MESSAGE.values(handed_over_at=bindparam("m_handed"))
_OPEN_ATTEMPT = insert(attempts).values(
    message_id=bindparam("m_id"), organization_id=bindparam("o_id"), number=bindparam("m_attempt"),
    started_at=bindparam("a_started"), run_id=bindparam("a_run"))
_FINISH_ATTEMPT = (
    update(attempts)
    .where(attempts.c.message_id == bindparam("m_id"), attempts.c.number == bindparam("m_attempt"),
           attempts.c.outcome.is_(None))
    .values(finished_at=bindparam("a_finished"), outcome=bindparam("a_outcome"),
            provider_status=bindparam("a_provider_status"), error_code=bindparam("a_error_code"))
)


def finish(engine: Engine, answers: Sequence[Answer], organization_id: str) -> None:
    """Records the providers' answers: each message leaves `submitting` only if it is
    still in that attempt. An opt-out rejection also suppresses the number for the
    organization (`provider_opt_out`), in the same transaction."""
    if not answers:
        return
    now = utc_now()
    with writing(engine) as connection, connection.begin():
        finished = stored(connection, messages.c.status_at, now)
        as_handed = storing(connection, messages.c.handed_over_at)
        as_next_poll = storing(connection, messages.c.next_poll_at)
        for handed, statement in ((False, _ANSWER_MESSAGE), (True, _ANSWER_HANDED_MESSAGE)):
            execute_many(connection, statement, [
                {"m_id": a.message_id, "m_attempt": a.attempt, "m_status": a.status,
                 "m_provider_id": a.provider_message_id, "m_error_code": a.error_code, "a_finished": finished,
                 **({"m_handed": as_handed(a.handed_over_at)} if handed else {}),
                 # Not final yet: the poll schedule starts from the hand-over.
                 "m_next_poll": as_next_poll(first_poll(a.handed_over_at or now))
                 if a.status in POLLED_STATUSES else None}
                for a in answers if (a.handed_over_at is not None) == handed])
        _close_attempts(connection, answers, now)
        for answer in answers:
            if answer.outcome == "opt_out":
                phone = connection.execute(select(messages.c.phone).where(messages.c.id == answer.message_id)).scalar()
                suppressions.add_one(connection, organization_id, phone, "provider_opt_out", "provider")


def _close_attempts(connection: Connection, answers: Sequence[Answer], now: datetime) -> None:
    finished = stored(connection, attempts.c.finished_at, now)
    execute_many(connection, _FINISH_ATTEMPT, [
        {"m_id": a.message_id, "m_attempt": a.attempt, "a_finished": finished, "a_outcome": a.outcome,
         "a_provider_status": a.provider_status, "a_error_code": a.error_code} for a in answers])


@dataclass
class Retry:
    claimed: Claimed | None  # the next attempt, open; None when there is none (see below)
    stopped: str | None = None  # kill switch or the campaign's state: the message is `pending` again
    suppressed: bool = False  # its number was suppressed meanwhile: the message is `skipped`


def retry(engine: Engine, claimed: Claimed, outcome: str, run_id: str, organization_id: str,
          campaign_id: int | None) -> Retry:
    """Closes an attempt that surely created nothing and opens the next one, the message
    staying `submitting`. The next attempt is a hand-over like a claim's, so the same
    transaction first looks again at what a claim looks at (a backoff may have lasted
    seconds): the kill switch, and with a `campaign_id` the campaign's state and the
    number's suppressions (a test message, None, bypasses those two). No next attempt
    either when the message is no longer in that attempt."""
    now = utc_now()
    with writing(engine) as connection, connection.begin():
        stopped = why_stopped(connection, campaign_id)
        suppressed = stopped is None and campaign_id is not None and bool(
            suppressed_among(connection, organization_id, [claimed.phone]))
        if stopped or suppressed:
            values = {"status": "pending"} if stopped else {"status": "skipped", "reason": "suppressed"}
            moved = _uncall_in(connection, [claimed], outcome, now, **values)
            return Retry(None, stopped, suppressed and moved == 1)
        moved = connection.execute(
            _FINISH_MESSAGE.values(attempts=messages.c.attempts + 1, updated_at=now),
            {"m_id": claimed.id, "m_attempt": claimed.attempt}).rowcount
        if moved != 1:
            return Retry(None)
        _close_attempts(connection, [Answer(claimed.id, claimed.attempt, "submitting", outcome)], now)
        connection.execute(insert(attempts).values(message_id=claimed.id, organization_id=organization_id,
                                                   number=claimed.attempt + 1, started_at=now, run_id=run_id))
    return Retry(Claimed(claimed.id, claimed.attempt + 1, claimed.phone, claimed.body, now))


def release(engine: Engine, claimed: Claimed, outcome: str) -> bool:
    """Back to `pending` (nothing was created): a later dispatch sends it."""
    return release_all(engine, [claimed], outcome) == 1


def release_all(engine: Engine, claimed: Sequence[Claimed], outcome: str) -> int:
    """`release` for many messages in one transaction (claimed, then stopped before their
    calls); how many were still in those attempts."""
    return _uncall(engine, claimed, outcome, status="pending")


def skip_uncalled(engine: Engine, claimed: Sequence[Claimed], reason: str) -> int:
    """Claimed messages never handed over because a rule stopped them at their call (a
    suppression committed after the claim): `skipped` with `reason`, each attempt closed
    `stopped` (it created nothing); how many were still in those attempts."""
    return _uncall(engine, claimed, "stopped", status="skipped", reason=reason)


def _uncall(engine: Engine, claimed: Sequence[Claimed], outcome: str, **values) -> int:
    with writing(engine) as connection, connection.begin():
        return _uncall_in(connection, claimed, outcome, utc_now(), **values)


# Not handed over after all, in a campaign cancelled meanwhile: `cancelled`, as the cancel
# made every message not handed over; `pending` in any other (a later dispatch sends it).
_NOT_HANDED_OVER = case(
    (and_(messages.c.kind == "campaign",
          select(campaigns.c.status).where(campaigns.c.id == messages.c.campaign_id).scalar_subquery()
          == "cancelled"), "cancelled"),
    else_="pending")


def _uncall_in(connection: Connection, claimed: Sequence[Claimed], outcome: str, now: datetime, **values) -> int:
    """Claimed messages whose attempt made no call: the message takes `values` (a status,
    a reason; `pending` reads as "not handed over", see _NOT_HANDED_OVER), the attempt
    closes with `outcome`, inside the caller's transaction; how many were still in those
    attempts."""
    status = values["status"]
    if status == "pending" and claimed:
        # A cancel committing meanwhile is waited for, then seen (PostgreSQL; SQLite has one writer).
        connection.execute(select(campaigns.c.id).where(campaigns.c.id.in_(
            select(messages.c.campaign_id).where(messages.c.id.in_([message.id for message in claimed]))))
            .with_for_update(read=True))
        values = {**values, "status": _NOT_HANDED_OVER}
    moved = []
    for message in claimed:
        if connection.execute(
                _FINISH_MESSAGE.values(handed_over_at=None, updated_at=now, **values),
                {"m_id": message.id, "m_attempt": message.attempt}).rowcount == 1:
            moved.append(Answer(message.id, message.attempt, status, outcome))
    _close_attempts(connection, moved, now)
    return len(moved)


def recorded_provider_ids(connection: Connection, organization_id: str, phone: str, but: int) -> set[str]:
    """Provider message ids already recorded for the organization's other messages to this
    number: reconciliation must never attribute one of them to message `but` as well
    (two campaigns, or a test message, may share a body)."""
    return set(connection.execute(
        select(messages.c.provider_message_id).where(
            messages.c.organization_id == organization_id, messages.c.phone == phone, messages.c.id != but,
            messages.c.provider_message_id.is_not(None))).scalars())


def submitting(connection: Connection, campaign_id: int) -> list[Claimed]:
    """Messages left `submitting` (by a process that stopped before recording the answer),
    with the attempt that was open."""
    rows = connection.execute(
        select(messages.c.id, messages.c.attempts, messages.c.phone, messages.c.body, attempts.c.started_at)
        .join(attempts, and_(attempts.c.message_id == messages.c.id, attempts.c.number == messages.c.attempts),
              isouter=True)
        .where(messages.c.campaign_id == campaign_id, messages.c.status == "submitting")
        .order_by(messages.c.id)).all()
    # An attempt row is committed with its `submitting`; should one be missing, look back a week.
    since = utc_now() - timedelta(days=7)
    return [Claimed(row.id, row.attempts, row.phone, row.body, row.started_at or since) for row in rows]
