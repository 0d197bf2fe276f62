"""A campaign's delivery funnel read from the campaign database (the shape and
its ratios are rules/funnel.py's).

Two grouped queries whatever the campaign's size: its messages by status and
error code (with their segments), and the replies linked to them. Both go
through the index on messages(campaign_id, status); nothing is read per row
in Python.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, case, distinct, func, select

from campaign_pipeline.sending.db.models import campaigns, messages, replies
from campaign_pipeline.sending.rules import funnel as rules
from campaign_pipeline.sending.rules.keywords import STOP

_OWN = (messages.c.kind == "campaign",)  # test messages are no part of a campaign's funnel


def read(connection: Connection, campaign_id: int) -> tuple[list[rules.StatusGroup], int, int]:
    """The campaign's messages grouped by status and error code, its replies and its opt-outs."""
    groups = [rules.StatusGroup(row.status, row.error_code, row.messages, int(row.segments or 0))
              for row in connection.execute(
                  select(messages.c.status, messages.c.error_code, func.count().label("messages"),
                         func.sum(messages.c.segments).label("segments"))
                  .where(messages.c.campaign_id == campaign_id, *_OWN)
                  .group_by(messages.c.status, messages.c.error_code))]
    # Opt-outs are recipients (a STOP repeated, or after a START, counts once).
    replied, opted_out = connection.execute(
        select(func.count(), func.count(distinct(case((replies.c.action == STOP, replies.c.message_id)))))
        .select_from(replies.join(messages, messages.c.id == replies.c.message_id))
        .where(messages.c.campaign_id == campaign_id, *_OWN)
    ).one()
    return groups, replied, opted_out


def campaign_funnel(connection: Connection, campaign_id: int) -> dict:
    groups, replied, opted_out = read(connection, campaign_id)
    return rules.shape(groups, replied, opted_out)


def delivery_of(engine: Engine, campaign_id: int) -> dict | None:
    """The campaign (id, organization, name, status) and its funnel, for whoever
    reads every organization's campaigns (Dagster); None when there is no such campaign."""
    with engine.connect() as connection:
        row = connection.execute(
            select(campaigns.c.id, campaigns.c.organization_id, campaigns.c.name, campaigns.c.status)
            .where(campaigns.c.id == campaign_id)).first()
        if row is None:
            return None
        return {**row._asdict(), "funnel": campaign_funnel(connection, campaign_id)}
