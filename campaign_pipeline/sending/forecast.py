"""What a campaign would send (contract sending.md, "Dry run and forecast").

The audience part: recipients, segments, encodings and the characters that
forced UCS-2. A draft's audience is read from its dataset and rendered now; a
scheduled (or later) campaign's is its frozen messages. The sending part (what
would go now, be deferred or skipped, `eta`, `finishes_in_window`) joins this
document when sending exists; `preview` is where it goes.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, Engine, select

from campaign_pipeline.sending import audience as audiences
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import messages
from campaign_pipeline.sending.rules.encoding import GSM7, UCS2, measure, ucs2_character_counts
from campaign_pipeline.sending.rules.templates import check_template


def preview(engine: Engine, organization_id: str, campaign_id: int | str) -> dict:
    """The forecast of a campaign in any state; reads only."""
    with engine.connect() as connection:
        row = campaigns.get_campaign(connection, organization_id, campaign_id)
        if row.status == "draft":
            audience = campaigns.read_audience(connection, organization_id, row.segment, day=row.day,
                                               dataset=row.dataset_path)
            measured = audiences.messages_for(audience, check_template(row.body))
            characters = ucs2_character_counts(measured)
        else:
            measured, characters = _frozen(connection, row.id)
    return audience_forecast(measured, characters)


def audience_forecast(measured: pl.DataFrame, ucs2_characters: dict[str, int]) -> dict:
    """From per-message `encoding` and `segments`, and the UCS-2 characters' message counts."""
    encodings = dict(measured.group_by("encoding").len().iter_rows())
    return {
        "recipients": measured.height,
        "segments": int(measured["segments"].sum() or 0),
        "encoding": {GSM7: encodings.get(GSM7, 0), UCS2: encodings.get(UCS2, 0)},
        "ucs2_characters": ucs2_characters,
    }


def _frozen(connection: Connection, campaign_id: int) -> tuple[pl.DataFrame, dict[str, int]]:
    # The stored encoding and segments are the ones the messages will be sent
    # with; only UCS-2 bodies are read again, for the characters that forced it.
    query = select(messages.c.encoding, messages.c.segments).where(
        messages.c.campaign_id == campaign_id, messages.c.kind == "campaign")
    stored = pl.DataFrame(connection.execute(query).all(), schema={"encoding": pl.String, "segments": pl.Int64},
                          orient="row")
    ucs2_bodies = connection.execute(
        select(messages.c.body).where(messages.c.campaign_id == campaign_id, messages.c.kind == "campaign",
                                      messages.c.encoding == UCS2)
    ).scalars().all()
    return stored, ucs2_character_counts(measure(pl.Series("body", ucs2_bodies, dtype=pl.String)))
