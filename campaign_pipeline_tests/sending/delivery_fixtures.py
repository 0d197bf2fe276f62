"""A campaign whose messages were handed over to the provider, as the dispatcher
leaves it: for the delivery, webhook and reply tests and the webhook benchmark."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import Engine, insert, select, update

from campaign_pipeline.sending.db.bulk import bulk_insert
from campaign_pipeline.sending.db.models import campaigns, messages, utc_now


def provider_id() -> str:
    return "SM" + uuid.uuid4().hex


def handed_over_campaign(engine: Engine, organization_id: str, statuses: dict[str, str], *,
                         campaign_status: str = "sent", handed_over_at: datetime | None = None,
                         sids: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """A campaign of `organization_id` with one message per phone of `statuses`
    (phone -> message status), each with a provider id unless pending; returns the
    campaign id and phone -> provider id."""
    now = utc_now()
    at = handed_over_at or now
    sids = {**{phone: provider_id() for phone in statuses}, **(sids or {})}
    with engine.begin() as connection:
        campaign_id = connection.execute(insert(campaigns).values(
            organization_id=organization_id, name="autumn", body="Hello", segment="buyer", status=campaign_status,
            scheduled_at=now - timedelta(hours=1), created_at=now, updated_at=now,
        ).returning(campaigns.c.id)).scalar_one()
        handed = [status not in ("pending", "deferred", "skipped", "cancelled") for status in statuses.values()]
        frame = pl.DataFrame({
            "phone": list(statuses), "status": list(statuses.values()),
            "provider_message_id": [sids[phone] if h else None for phone, h in zip(statuses, handed)],
        }, schema={"phone": pl.String, "status": pl.String, "provider_message_id": pl.String})
        # Times go as constants, through the column type (SQLite stores them as naive UTC text).
        bulk_insert(connection, messages, frame, constants={
            "campaign_id": campaign_id, "organization_id": organization_id, "kind": "campaign", "body": "Hello",
            "attempts": 1, "polls": 0, "handed_over_at": at, "created_at": now, "updated_at": now,
        })
        connection.execute(update(messages).where(messages.c.campaign_id == campaign_id,
                                                  messages.c.provider_message_id.is_(None))
                           .values(handed_over_at=None, attempts=0))
    return campaign_id, sids


def message_rows(engine: Engine, campaign_id: int) -> dict[str, tuple[str, str | None]]:
    """phone -> (status, error_code) of a campaign's messages."""
    with engine.connect() as connection:
        rows = connection.execute(select(messages.c.phone, messages.c.status, messages.c.error_code)
                                  .where(messages.c.campaign_id == campaign_id)).all()
    return {row.phone: (row.status, row.error_code) for row in rows}


def campaign_status(engine: Engine, campaign_id: int) -> str:
    with engine.connect() as connection:
        return connection.execute(select(campaigns.c.status).where(campaigns.c.id == campaign_id)).scalar_one()


FUNNEL_SENDER = "+358451110000"
# The funnel of funnel_campaign: what `campaign show` and the asset `campaign_delivery` must report.
FUNNEL = {
    "messages": 12, "handed_over": 9, "sent": 5, "delivered": 4, "undelivered": 1, "failed": 3,
    "failed_by_error_code": {"30005": 2, "none": 1}, "undelivered_by_error_code": {"30003": 1},
    "replies": 3, "opt_outs": 1, "segments": 18,
    "percent": {"handed_over": 100.0, "sent": 55.6, "delivered": 44.4, "undelivered": 11.1, "failed": 33.3,
                "replies": 33.3, "opt_outs": 11.1},
}


def funnel_campaign(engine: Engine, organization_id: str = "org-1") -> int:
    """A sent campaign of `organization_id` (whose sender becomes FUNNEL_SENDER) with
    every step of the funnel FUNNEL: outcomes with error codes, messages of 2
    segments, replies and a STOP said twice; and what must not count: a failed
    test message, a reply from a number the campaign never wrote to."""
    from campaign_pipeline.sending import delivery, replies
    from campaign_pipeline.sending.organizations import set_organization

    set_organization(engine, organization_id, {"sender": FUNNEL_SENDER})
    phones = [f"+3584012300{n:02d}" for n in range(12)]
    statuses = ["sent"] * 8 + ["sending", "skipped", "skipped", "pending"]
    campaign_id, sids = handed_over_campaign(engine, organization_id, dict(zip(phones, statuses)))
    outcomes = ["delivered"] * 4 + [("undelivered", "30003"), ("failed", "30005"), ("failed", "30005"), ("failed", None)]
    for phone, outcome in zip(phones, outcomes):
        status, code = (outcome, None) if isinstance(outcome, str) else outcome
        assert delivery.apply_status(engine, sids[phone], status, code) == delivery.MOVED
    with engine.begin() as connection:
        connection.execute(update(messages).where(messages.c.campaign_id == campaign_id).values(segments=2))
    delivery.apply_status(engine, add_test_message(engine, campaign_id, "sent", organization_id), "failed", "30005")
    for phone, body in ((phones[0], "STOP"), (phones[0], "stop"), (phones[1], "Kiitos!"), ("+358409999999", "STOP")):
        replies.receive(engine, replies.Inbound(provider_id(), phone, FUNNEL_SENDER, body))
    return campaign_id


def add_test_message(engine: Engine, campaign_id: int, status: str, organization_id: str = "org-1") -> str:
    """A test message (`campaign test`) of the campaign, handed over; returns its provider id."""
    now, sid = utc_now(), provider_id()
    with engine.begin() as connection:
        connection.execute(insert(messages).values(
            campaign_id=campaign_id, organization_id=organization_id, kind="test", phone="+358400000000",
            body="test", segments=5, status=status, attempts=1, provider_message_id=sid,
            handed_over_at=now, created_at=now, updated_at=now))
    return sid


def poison(engine: Engine, provider_message_id: str) -> None:
    """A trigger that makes the database refuse any UPDATE of that message: a
    real database error in the middle of a batch."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE UPDATE ON messages"
                f" WHEN NEW.provider_message_id = '{provider_message_id}' BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
        else:
            connection.exec_driver_sql("CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql"
                                       " AS $$ BEGIN RAISE EXCEPTION 'poisoned'; END $$")
            connection.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE UPDATE ON messages FOR EACH ROW"
                f" WHEN (NEW.provider_message_id = '{provider_message_id}') EXECUTE FUNCTION poison()")
