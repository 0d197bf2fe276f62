"""Which campaigns have a dispatch pass due now, and a key for each pass that the
database facts make the same for the same pass (Dagster's `campaign_sends_sensor`
uses it as the run key: two ticks that see the same facts launch one run).

Due (sending.md, "Sending"): a `scheduled` campaign whose time has come, or a
`sending` campaign with messages `pending`, `submitting` (left by a dead
process: the pass reconciles them) or `deferred` whose `not_before` passed. A
campaign whose lease is live is being dispatched right now and is not due.

The watermark is the latest database fact that made the pass due: the
campaign's last state change (`updated_at`: scheduled, started, resumed), the
latest `not_before` that passed, and for a `scheduled` campaign the latest
moment any campaign finished (a CAMPAIGN_MAX_SENDING place may have opened,
so a campaign left waiting is tried again). A pass that hands messages over
changes none of them, so a pass that ends with nothing due is not repeated, and
one that stops early (provider down, kill switch) is not retried in a loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, case, exists, func, or_, select

from campaign_pipeline.sending.db.models import campaigns, leases, messages, utc_now

_KEY_TIME = "%Y%m%dT%H%M%S.%fZ"


@dataclass(frozen=True)
class DuePass:
    campaign_id: int
    organization_id: str
    status: str
    reason: str  # scheduled | pending | deferred
    watermark: datetime

    @property
    def run_key(self) -> str:
        return f"campaign-{self.campaign_id}@{self.watermark.strftime(_KEY_TIME)}"


def due_passes(engine: Engine, now: datetime | None = None) -> list[DuePass]:
    """Every campaign with a pass due at `now`, in id order; reads only."""
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
                   campaigns.c.status == "sending"), ~leased)
        .order_by(campaigns.c.id))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        finished = connection.execute(
            select(func.max(campaigns.c.finished_at)).where(campaigns.c.finished_at <= now)).scalar()
    due = []
    for row in rows:
        facts = [row.updated_at]
        if row.status == "scheduled":
            reason = "scheduled"
            facts += [row.scheduled_at, finished]
        elif row.pending:
            reason = "pending"
            facts.append(row.deferred_passed)
        elif row.deferred_passed is not None:
            reason = "deferred"
            facts.append(row.deferred_passed)
        else:
            continue  # sending, but everything left waits for a later not_before
        due.append(DuePass(row.id, row.organization_id, row.status, reason,
                           max(fact for fact in facts if fact is not None)))
    return due
