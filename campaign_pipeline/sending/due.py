"""Which campaigns have a dispatch pass due now, and a key for each pass that the
database facts make the same for the same pass (Dagster's `campaign_sends_sensor`
uses it as the run key: two ticks that see the same facts launch one run).

The dispatch asks the same question (due_now) of the campaigns it looks at: only
those with a pass due need their organization's sender (Dispatcher.check_senders).

Due (sending.md, "Sending"): a `scheduled` campaign whose time has come, or a
`sending` campaign with messages `pending`, `submitting` (left by a dead
process: the pass reconciles them) or `deferred` whose `not_before` passed. A
`paused` or `cancelled` campaign with messages left `submitting` is due too, for
a pass that only reconciles them ("every message ends in exactly one status").
A campaign whose lease is live is being dispatched right now and is not due.

The watermark is the latest database fact that made the pass due: the
campaign's last state change (`updated_at`: scheduled, started, resumed), the
latest `not_before` that passed, and for a `scheduled` campaign the latest
moment any campaign finished (a CAMPAIGN_MAX_SENDING place may have opened,
so a campaign left waiting is tried again). A pass that hands messages over
changes none of them, so a pass that ends with nothing due is not repeated.

A pass that stopped early (the provider down for the whole run, a killed process)
leaves messages `pending` and changes no fact either: its key would stay the one
already used, and Dagster would never run it again. Its key gains a retry number
every RETRY_EVERY after the watermark, so such a campaign is tried again that
often (not in a loop) until a pass goes through. Nothing is due while the kill
switch is on: the passes would stop at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, case, exists, func, or_, select

from campaign_pipeline.sending.db.models import campaigns, leases, messages, utc_now
from campaign_pipeline.sending.kill_switch import kill_switch_on

_KEY_TIME = "%Y%m%dT%H%M%S.%fZ"
RETRY_EVERY = timedelta(minutes=5)
# States in which nothing new is handed over, but messages an earlier process left
# `submitting` still need settling.
STOPPED_WITH_LEFTOVERS = ("paused", "cancelled")
# The campaign (of the enclosing query) has messages an earlier process left `submitting`:
# every one of them, test messages too, as the pass reconciles them (ledger.submitting).
LEFT_SUBMITTING = exists().where(messages.c.campaign_id == campaigns.c.id, messages.c.status == "submitting")


@dataclass(frozen=True)
class DuePass:
    campaign_id: int
    organization_id: str
    status: str
    reason: str  # scheduled | pending | deferred | reconcile
    watermark: datetime
    retry: int = 0  # pending: how many RETRY_EVERY have passed since the watermark

    @property
    def run_key(self) -> str:
        key = f"campaign-{self.campaign_id}@{self.watermark.strftime(_KEY_TIME)}"
        return f"{key}+retry{self.retry}" if self.retry else key


def due_passes(engine: Engine, now: datetime | None = None) -> list[DuePass]:
    """Every campaign with a pass due at `now`, in id order; none while the kill switch
    is on. Reads only."""
    with engine.connect() as connection:
        return [] if kill_switch_on(connection) else due_now(connection, now)


def due_now(connection: Connection, now: datetime | None = None) -> list[DuePass]:
    """Every campaign with a pass due at `now`, in id order, whatever the kill switch
    (a dispatch's checks ask which campaigns it would work on). Reads only."""
    now = now or utc_now()
    waiting = and_(messages.c.campaign_id == campaigns.c.id, messages.c.kind == "campaign")
    pending = exists().where(waiting, messages.c.status.in_(("pending", "submitting")))
    deferred_passed = (select(func.max(messages.c.not_before))
                       .where(waiting, messages.c.status == "deferred", messages.c.not_before <= now)
                       .scalar_subquery())
    leased = exists().where(leases.c.campaign_id == campaigns.c.id, leases.c.expires_at > now)
    query = (
        select(campaigns.c.id, campaigns.c.organization_id, campaigns.c.status, campaigns.c.scheduled_at,
               campaigns.c.updated_at, deferred_passed.label("deferred_passed"),
               case((pending, True), else_=False).label("pending"))
        .where(or_(and_(campaigns.c.status == "scheduled", campaigns.c.scheduled_at <= now),
                   campaigns.c.status == "sending",
                   and_(campaigns.c.status.in_(STOPPED_WITH_LEFTOVERS), LEFT_SUBMITTING)), ~leased)
        .order_by(campaigns.c.id))
    rows = connection.execute(query).all()
    finished = connection.execute(
        select(func.max(campaigns.c.finished_at)).where(campaigns.c.finished_at <= now)).scalar()
    due = []
    for row in rows:
        facts = [row.updated_at]
        if row.status == "scheduled":
            reason = "scheduled"
            facts += [row.scheduled_at, finished]
        elif row.status in STOPPED_WITH_LEFTOVERS:
            reason = "reconcile"
        elif row.pending:
            reason = "pending"
            facts.append(row.deferred_passed)
        elif row.deferred_passed is not None:
            reason = "deferred"
            facts.append(row.deferred_passed)
        else:
            continue  # sending, but everything left waits for a later not_before
        watermark = max(fact for fact in facts if fact is not None)
        retry = (now - watermark) // RETRY_EVERY if reason in ("pending", "reconcile") and now > watermark else 0
        due.append(DuePass(row.id, row.organization_id, row.status, reason, watermark, retry))
    return due
