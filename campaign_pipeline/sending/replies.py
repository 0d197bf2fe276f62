"""Inbound messages: stored as replies, and their keywords' consequence
(sending.md, "Delivery and replies"); the replies people read (`campaign-cli replies`).

A reply is stored once (unique provider id), in the organization whose sender
it was sent to, linked to the latest campaign message handed over to that
phone by that organization. STOP adds the organization's `stop_reply`
suppression and START removes that one only, in the same transaction, which
commits before the provider gets its answer: a dispatcher checks suppressions
again before each hand-over, so nothing goes to that number afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from campaign_pipeline.sending import campaigns, organizations, suppressions
from campaign_pipeline.sending.db.engine import dialect_insert, writing
from campaign_pipeline.sending.db.models import messages, replies, utc_now
from campaign_pipeline.sending.organizations import Organization
from campaign_pipeline.sending.rules.keywords import START, STOP, keyword_action
from campaign_pipeline.sending.rules.windows import parse_at

STOP_REASON = "stop_reply"
# Said to HELP when the organization set no --help-text: never silence.
DEFAULT_HELP = "Reply STOP to unsubscribe, START to subscribe again."


@dataclass(frozen=True)
class Inbound:
    """An inbound message as the provider reports it."""

    provider_message_id: str
    phone: str  # the person, E.164
    to: str  # the sender number it was sent to
    body: str
    messaging_service_sid: str | None = None
    opt_out_type: str | None = None


@dataclass(frozen=True)
class Received:
    organization: Organization | None  # None: sent to no organization's sender
    action: str | None  # stop, start, help or None
    duplicate: bool = False
    changed: bool = False  # the suppression was added or removed

    @property
    def help_text(self) -> str:
        return (self.organization.help_text if self.organization else None) or DEFAULT_HELP


def organization_of(connection: Connection, inbound: Inbound) -> Organization | None:
    """The organization whose sender is the `To` number, or (a Messaging Service
    picks one of its numbers) whose sender is the service."""
    found = organizations.by_sender(connection, inbound.to)
    if found is None and inbound.messaging_service_sid:
        found = organizations.by_sender(connection, inbound.messaging_service_sid)
    return found


def receive(engine: Engine, inbound: Inbound, *, now: datetime | None = None) -> Received:
    """Stores the reply and applies its keyword, in one transaction; a provider id
    already stored changes nothing (a retried callback)."""
    now = now or utc_now()
    with writing(engine) as connection, connection.begin():
        organization = organization_of(connection, inbound)
        if organization is None:
            return Received(None, None)
        action = keyword_action(inbound.body, inbound.opt_out_type)
        stored = connection.execute(
            dialect_insert(connection, replies).values(
                organization_id=organization.id, phone=inbound.phone, body=inbound.body, received_at=now,
                provider_message_id=inbound.provider_message_id, action=action,
                message_id=_latest_message(connection, organization.id, inbound.phone),
            ).on_conflict_do_nothing(index_elements=["provider_message_id"])
        ).rowcount == 1
        changed = False
        if stored and action == STOP:
            changed = suppressions.add_one(connection, organization.id, inbound.phone, STOP_REASON,
                                           source=f"reply {inbound.provider_message_id}")
        elif stored and action == START:
            changed = suppressions.remove_one(connection, organization.id, inbound.phone, reason=STOP_REASON)
    return Received(organization, action, duplicate=not stored, changed=changed)


def _latest_message(connection: Connection, organization_id: str, phone: str) -> int | None:
    return connection.execute(
        select(messages.c.id)
        .where(messages.c.organization_id == organization_id, messages.c.phone == phone,
               messages.c.kind == "campaign", messages.c.handed_over_at.is_not(None))
        .order_by(messages.c.handed_over_at.desc(), messages.c.id.desc())
        .limit(1)
    ).scalar()


def list_replies(engine: Engine, organization_id: str, *, campaign_id: int | str | None = None,
                 since: str | None = None) -> list[dict]:
    """The organization's replies that are no keyword, oldest first: `phone` in
    E.164 (the caller masks it), `received_at` an aware datetime."""
    query = (
        select(replies.c.id, replies.c.received_at, replies.c.phone, replies.c.body, replies.c.message_id,
               messages.c.campaign_id)
        .select_from(replies.outerjoin(messages, messages.c.id == replies.c.message_id))
        .where(replies.c.organization_id == organization_id, replies.c.action.is_(None))
        .order_by(replies.c.received_at, replies.c.id)
    )
    if since is not None:
        query = query.where(replies.c.received_at >= parse_at(since, flag="--since"))
    with engine.connect() as connection:
        campaigns.require_organization(connection, organization_id)
        if campaign_id is not None:
            query = query.where(messages.c.campaign_id == campaigns.get_campaign(connection, organization_id,
                                                                                 campaign_id).id)
        return [row._asdict() for row in connection.execute(query)]
