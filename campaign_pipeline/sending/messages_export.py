"""`messages export`: one CSV row per message of a campaign, test messages
included (contract sending.md, "Reports and artifacts")."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine, select

from campaign_pipeline.dataset.formats import to_csv
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import messages

COLUMNS = (
    "campaign_id", "organization_id", "kind", "phone", "subject_id", "status", "reason", "encoding", "segments",
    "attempts", "provider_message_id", "not_before", "handed_over_at", "updated_at", "body",
)
_TIMES = ("not_before", "handed_over_at", "updated_at")
_SCHEMA = {name: pl.String for name in COLUMNS} | {
    "campaign_id": pl.Int64, "segments": pl.Int64, "attempts": pl.Int64,
    **{name: pl.Datetime("us", "UTC") for name in _TIMES},
}


def export_messages(engine: Engine, organization_id: str, campaign_id: int | str) -> tuple[bytes, int]:
    """The CSV bytes and the row count. Sorted by kind then phone (then id, for
    repeated test messages), bytewise in polars whatever the database's
    collation; times RFC 3339 UTC with `Z`, empty when unset."""
    with engine.connect() as connection:
        row = campaigns.get_campaign(connection, organization_id, campaign_id)
        query = select(messages.c.id, *(messages.c[name] for name in COLUMNS)).where(
            messages.c.campaign_id == row.id, messages.c.organization_id == organization_id)
        rows = connection.execute(query).all()
    frame = pl.DataFrame(rows, schema={"id": pl.Int64, **_SCHEMA}, orient="row")
    frame = (
        frame.sort("kind", "phone", "id")
        .with_columns(pl.col(name).dt.strftime(campaigns.RFC3339_UTC) for name in _TIMES)
        .select(COLUMNS)
    )
    return to_csv(frame), frame.height
