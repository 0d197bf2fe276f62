"""Asking the provider for the status of handed-over messages (sending.md, "Delivery
and replies"): `campaign-cli poll` (every message not final, now) and the Dagster
sensor (the messages the schedule of rules/polling.py says are due).

A pass reads a batch of messages, asks the provider about them a few at a time
(`concurrency` reads in flight on the adapter's kept-alive connections), records
what it heard through delivery.apply_statuses (forward-only, with the rollup),
and moves each asked message's `next_poll_at` along the schedule. A 429 is
handled as when sending: every reader waits the Retry-After (or the backoff of
base.retry_delay) before the next read, and the message is asked again, up to
base.MAX_ATTEMPTS times. A message the provider could not answer about (503,
a timeout, retries exhausted) keeps its `next_poll_at`: the next pass asks again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, or_, select, update

from campaign_pipeline.sending.db.models import POLLED, UtcDateTime, messages, utc_now
from campaign_pipeline.sending.delivery import StatusUpdate, apply_statuses
from campaign_pipeline.sending.providers.base import (
    MAX_ATTEMPTS, DeliveryStatus, NotCreated, Provider, ProviderUnavailable, RateLimited, retry_delay,
)
from campaign_pipeline.sending.rules.polling import DEFAULT_SCHEDULE, next_poll

CONCURRENCY = 8  # reads in flight: polite to the provider, and enough to hide its latency
BATCH = 200  # messages read, asked about and recorded per round
_UNAVAILABLE = object()  # the provider could not answer about this message now


@dataclass
class PollReport:
    provider: str
    asked: int = 0  # messages asked about
    moved: int = 0  # whose status moved forward
    unknown: int = 0  # the provider does not know the id (404)
    unavailable: int = 0  # no answer this time (503, timeout, 429 retries exhausted): asked again later
    throttled: int = 0  # 429 answers met (each waited for, then asked again)
    stopped: str | None = None  # "budget": the time ran out; "unavailable": a whole round went unanswered
    note: str | None = None  # why nothing was asked (a provider that cannot be polled)

    def document(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}

    def unavailable_note(self) -> str | None:
        """What went unanswered, when the provider could not answer about some message: a
        failed run for `campaign-cli poll` (exit 1), a warning for the sensor's tick."""
        if not self.unavailable:
            return None
        return (f"{self.provider} could not answer about {self.unavailable} of {self.asked} messages (unreachable, "
                "5xx, timeout or 429 retries exhausted): they are asked again at the next poll")


@dataclass(frozen=True)
class _Row:
    id: int
    provider_message_id: str
    handed_over_at: datetime | None
    next_poll_at: datetime | None


@dataclass
class _Gate:
    """Holds every reader while the provider asked to wait (a 429): the pause is shared,
    as the provider's rate limit is the account's, not one connection's."""

    sleep: object = time.sleep
    _until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self) -> None:
        with self._lock:
            delay = self._until - time.monotonic()
        if delay > 0:
            self.sleep(delay)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)


def poll(engine: Engine, provider: Provider, *, due_only: bool, organization_id: str | None = None,
         campaign_id: int | str | None = None, schedule: Sequence[timedelta] = DEFAULT_SCHEDULE,
         budget_seconds: float | None = None, concurrency: int = CONCURRENCY, batch: int = BATCH,
         rng: random.Random | None = None, sleep=time.sleep, log=None) -> PollReport:
    """One pass: with `due_only` the messages whose `next_poll_at` has come (the
    schedule), else every message handed over and not final; within the
    organization or campaign when given (a campaign that is not there, or not the
    organization's, is NotFound, as `dispatch --campaign` says). Stops starting new
    rounds once `budget_seconds` have passed (the sensor's tick must end)."""
    if campaign_id is not None:
        from campaign_pipeline.sending.campaigns import find_campaign  # polars: only when a campaign is named

        with engine.connect() as connection:
            campaign_id = find_campaign(connection, campaign_id, organization_id).id
    report = PollReport(provider=provider.name)
    if not getattr(provider, "can_poll", False):
        report.note = f"{provider.name} reports no delivery status through its API: nothing is polled"
        return report
    started = time.monotonic()
    gate = _Gate(sleep)
    rng = rng or random.Random()
    lock = threading.Lock()
    now = utc_now()
    after: tuple = (None, 0)

    def ask(row: _Row):
        for attempt in range(MAX_ATTEMPTS):
            gate.wait()
            try:
                return provider.fetch_status(row.provider_message_id)
            except RateLimited as limited:
                with lock:
                    report.throttled += 1
                gate.pause(retry_delay(NotCreated(limited.retry_after, "429"), attempt, rng))
            except ProviderUnavailable:
                return _UNAVAILABLE
        return _UNAVAILABLE

    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="poll") as pool:
        while True:
            if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
                report.stopped = "budget"
                break
            rows = _rows(engine, due_only, now, after, batch, organization_id, campaign_id)
            if not rows:
                break
            last = rows[-1]
            after = (last.next_poll_at, last.id) if due_only else (None, last.id)
            answers = list(pool.map(ask, rows))
            _record(engine, rows, answers, schedule, report)
            if log is not None:
                log.info("poll_round", provider=provider.name, asked=report.asked, moved=report.moved,
                         unavailable=report.unavailable, throttled=report.throttled)
            if len(rows) < batch:
                break
            if all(answer is _UNAVAILABLE for answer in answers):
                # Not one answer in a whole round: the provider is down. The rest keep their
                # place for the next pass rather than cost a timeout a round now.
                report.stopped = "unavailable"
                break
    return report


def _rows(engine: Engine, due_only: bool, now: datetime, after: tuple, limit: int,
          organization_id: str | None, campaign_id: int | None) -> list[_Row]:
    with engine.connect() as connection:
        query = round_query(due_only, now, after, limit, organization_id, campaign_id)
        return [_Row(*row) for row in connection.execute(query).all()]


def round_query(due_only: bool, now: datetime, after: tuple = (None, 0), limit: int = BATCH,
                organization_id: str | None = None, campaign_id: int | None = None):
    """The next round, in keyset order: a message the provider could not answer about
    keeps its place in the due range, and must not be read again within the pass."""
    columns = (messages.c.id, messages.c.provider_message_id, messages.c.handed_over_at, messages.c.next_poll_at)
    query = select(*columns).where(POLLED, messages.c.provider_message_id.is_not(None))
    if organization_id is not None:
        query = query.where(messages.c.organization_id == organization_id)
    if campaign_id is not None:
        query = query.where(messages.c.campaign_id == campaign_id)
    last_at, last_id = after
    if due_only:  # one range of the partial index ix_messages_next_poll_at
        query = query.where(messages.c.next_poll_at <= now)
        if last_at is not None:
            query = query.where(or_(messages.c.next_poll_at > last_at,
                                    and_(messages.c.next_poll_at == last_at, messages.c.id > last_id)))
        query = query.order_by(messages.c.next_poll_at, messages.c.id)
    else:
        query = query.where(messages.c.id > last_id).order_by(messages.c.id)
    return query.limit(limit)


_POLLED = (
    update(messages)
    .where(messages.c.id == bindparam("m_id"))
    .values(last_polled_at=bindparam("at", type_=UtcDateTime), polls=messages.c.polls + 1,
            next_poll_at=bindparam("next", type_=UtcDateTime))
)


def _record(engine: Engine, rows: list[_Row], answers: list, schedule: Sequence[timedelta],
            report: PollReport) -> None:
    at = utc_now()
    updates, polled = [], []
    for row, answer in zip(rows, answers):
        report.asked += 1
        if answer is _UNAVAILABLE:
            report.unavailable += 1
            continue  # keeps its next_poll_at: asked again at the next pass
        if answer is None:
            report.unknown += 1
        elif isinstance(answer, DeliveryStatus):
            updates.append(StatusUpdate(row.provider_message_id, answer.status, answer.error_code, at))
        polled.append({"m_id": row.id, "at": at,
                       "next": None if row.handed_over_at is None else next_poll(row.handed_over_at, at, schedule)})
    # The news first: should the process stop between the two, the message is only asked again.
    report.moved += apply_statuses(engine, updates).moved if updates else 0
    if polled:
        with engine.begin() as connection:
            connection.execute(_POLLED, polled)


SCHEDULE_VARIABLE = "CAMPAIGN_POLL_SCHEDULE"


def schedule_from_env(env) -> tuple[timedelta, ...]:
    """CAMPAIGN_POLL_SCHEDULE (seconds after hand-over, e.g. `30,300,600`), else the
    contract's; ValueError naming a malformed value."""
    from campaign_pipeline.sending.rules.polling import parse_schedule

    text = (env.get(SCHEDULE_VARIABLE) or "").strip()
    if not text:
        return DEFAULT_SCHEDULE
    try:
        return parse_schedule(text)
    except ValueError as error:
        raise ValueError(f"{SCHEDULE_VARIABLE}: {error}") from None
