"""Audits of a campaign's provider hand-overs, read back from the ledger (the
`messages` and `attempts` tables) after a dispatch pass: what Dagster's blocking
checks of `campaign_sends` evaluate (sending.md, "Dagster").

A hand-over is an attempt the provider may have acted on: every attempt except
those closed as surely creating nothing (released back to `pending`: absent,
not_created, account_failure, stopped). An attempt still open (`submitting`)
counts, since its call may have gone out. Test messages (`campaign test`) are
not the campaign's audience and are left out.

- double hand-overs: one message key `(campaign_id, phone)` with more than one
  attempt that may have created a provider message (accepted, reconciled,
  unknown or still open): a second send to that person;
- suppressed: a hand-over to a number suppressed (for the organization or for
  every one) before the attempt started;
- outside the window: a hand-over whose start was outside the sending window in
  one of the number's time zones (the pure rules of rules/hours.py, with the
  campaign's window or else the organization's).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, or_, select

from campaign_pipeline.sending import organizations
from campaign_pipeline.sending.db.models import ALL_ORGANIZATIONS, attempts, campaigns, messages, suppressions
from campaign_pipeline.sending.rules.hours import inside, recipient_zones

# Attempt outcomes after which the provider holds (or may hold) a message.
CREATED_OUTCOMES = ("accepted", "reconciled", "unknown")
# ... and those where the provider was asked and refused: still a hand-over.
REFUSED_OUTCOMES = ("rejected", "opt_out")


@dataclass(frozen=True)
class Violation:
    message_id: int
    phone: str  # unmasked: callers mask before showing it
    detail: str


def _campaign_attempt(campaign_id: int, outcomes: tuple[str, ...]):
    return and_(messages.c.campaign_id == campaign_id, messages.c.kind == "campaign",
                or_(attempts.c.outcome.is_(None), attempts.c.outcome.in_(outcomes)))


def double_handovers(engine: Engine, campaign_id: int) -> list[Violation]:
    query = (
        select(func.min(messages.c.id), messages.c.phone, func.count(attempts.c.id))
        .join(attempts, attempts.c.message_id == messages.c.id)
        .where(_campaign_attempt(campaign_id, CREATED_OUTCOMES))
        .group_by(messages.c.campaign_id, messages.c.phone)
        .having(func.count(attempts.c.id) > 1)
        .order_by(func.min(messages.c.id)))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [Violation(message_id, phone, f"{count} hand-overs") for message_id, phone, count in rows]


def suppressed_handovers(engine: Engine, campaign_id: int) -> list[Violation]:
    query = (
        select(messages.c.id, messages.c.phone, attempts.c.number, suppressions.c.reason)
        .join(attempts, attempts.c.message_id == messages.c.id)
        .join(suppressions, and_(suppressions.c.phone == messages.c.phone,
                                 suppressions.c.organization_id.in_([messages.c.organization_id, ALL_ORGANIZATIONS]),
                                 suppressions.c.created_at < attempts.c.started_at))
        .where(_campaign_attempt(campaign_id, CREATED_OUTCOMES + REFUSED_OUTCOMES))
        .order_by(messages.c.id, attempts.c.number))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [Violation(row.id, row.phone, f"attempt {row.number}: suppressed ({row.reason}) before it")
            for row in rows]


def handovers_outside_window(engine: Engine, campaign_id: int) -> list[Violation]:
    with engine.connect() as connection:
        campaign = connection.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
        if campaign is None:
            return []
        organization = organizations.settings(connection, campaign.organization_id)
        rows = connection.execute(
            select(messages.c.id, messages.c.phone, attempts.c.number, attempts.c.started_at)
            .join(attempts, attempts.c.message_id == messages.c.id)
            .where(_campaign_attempt(campaign_id, CREATED_OUTCOMES + REFUSED_OUTCOMES))
            .order_by(messages.c.id, attempts.c.number)).all()
    window = organization.window_of(campaign)
    found = []
    for row in rows:
        zones = recipient_zones(row.phone, organization.timezone)
        if not inside(zones, window, row.started_at):
            found.append(Violation(row.id, row.phone, f"attempt {row.number} at {row.started_at:%Y-%m-%dT%H:%M:%SZ}"
                                                      f" outside {window} in {', '.join(zones)}"))
    return found


AUDITS = {
    "no_double_handover": double_handovers,
    "no_handover_to_suppressed": suppressed_handovers,
    "no_handover_outside_window": handovers_outside_window,
}
