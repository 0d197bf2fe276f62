"""What a campaign would send (contract sending.md, "Dry run and forecast").

The audience part: recipients, segments, encodings and the characters that
forced UCS-2. A draft's audience is read from its dataset and rendered now; a
scheduled (or later) campaign's is its frozen messages. The sending part: what
would happen now to each message not yet handed over (go now, be deferred by
window or quota, be skipped by reason), decided by the very rules a dispatch
applies (rules/handover.py), and when the last one would be handed over at the
organization's --mps (`eta`), and whether that is before today's window closes.
`campaign preview` and `dispatch --dry-run` print it; neither changes anything.

`eta` plays the whole audience out (rules/eta.py): one message every 1/mps
seconds, each only inside its number's window, at most the daily quota in each of
the organization's days, so a window that closes before the audience is through or
a quota that spreads it over several days moves it on.

Choices where the contract is silent: a campaign scheduled for later is forecast
from its scheduled time (what it would do when it starts: a dispatch now would
leave it alone); a paused one as if resumed now. `eta` is null when nothing is
left to hand over (`finishes_in_window` is then true), and `finishes_in_window`
compares it with the close of the window on the forecast's first day.
"""

from __future__ import annotations

import polars as pl
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from campaign_pipeline.sending import audience as audiences
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending import ledger, organizations
from campaign_pipeline.sending.db.models import messages, utc_now
from campaign_pipeline.sending.rules.eta import DailyQuota, last_hand_over
from campaign_pipeline.sending.rules.handover import DEFER, GO, SKIP, Rules, split_quota
from campaign_pipeline.sending.rules.hours import day_start
from campaign_pipeline.sending.rules.windows import Window
from campaign_pipeline.sending.rules.encoding import GSM7, UCS2, measure, ucs2_character_counts
from campaign_pipeline.sending.rules.templates import check_template


def preview(engine: Engine, organization_id: str, campaign_id: int | str, now: datetime | None = None,
            mps: int | None = None) -> dict:
    """The forecast of a campaign in any state; reads only."""
    now = now or utc_now()
    with engine.connect() as connection:
        row = campaigns.get_campaign(connection, organization_id, campaign_id)
        if row.status == "scheduled" and row.scheduled_at is not None:
            now = max(now, row.scheduled_at)
        if row.status == "draft":
            audience = campaigns.read_audience(connection, organization_id, row.segment, day=row.day,
                                               dataset=row.dataset_path)
            measured = audiences.messages_for(audience, check_template(row.body))
            characters = ucs2_character_counts(measured)
            unsent = measured.select("phone", "body")
        else:
            measured, characters = _frozen(connection, row.id)
            unsent = _unsent(connection, row.id)
        organization = organizations.settings(connection, organization_id)
        window = organization.window_of(row)
        sending = sending_forecast(connection, organization, window, unsent, now, mps or organization.mps)
    forecast = audience_forecast(measured, characters)
    return {"recipients": forecast.pop("recipients"), "messages": sending.pop("messages"), **forecast, **sending}


def _unsent(connection: Connection, campaign_id: int) -> pl.DataFrame:
    rows = connection.execute(
        select(messages.c.phone, messages.c.body).where(
            messages.c.campaign_id == campaign_id, messages.c.kind == "campaign",
            messages.c.status.in_(ledger.DUE_STATUSES)).order_by(messages.c.id)).all()
    return pl.DataFrame(rows, schema={"phone": pl.String, "body": pl.String}, orient="row")


def sending_forecast(connection: Connection, organization: organizations.Organization, window: Window,
                     unsent: pl.DataFrame, now: datetime, mps: int) -> dict:
    """What a dispatch now would do to these messages (`phone`, `body`), and its eta."""
    rules = Rules(window, organization.timezone, now)
    phones, bodies = unsent["phone"].to_list(), unsent["body"].to_list()
    suppressed = ledger.suppressed_among(connection, organization.id, phones)
    decisions = {phone: rules.decide(phone, body, phone in suppressed) for phone, body in zip(phones, bodies,
                                                                                            strict=True)}
    quota = None
    if organization.daily_quota is not None:
        handed = ledger.handed_over_since(connection, organization.id, day_start(organization.timezone, now))
        quota = DailyQuota(organization.daily_quota, handed, organization.timezone)
    going = [phone for phone, decision in decisions.items() if decision.action == GO]
    allowed, over = split_quota(going, None if quota is None else quota.per_day - quota.used_today, rules)
    decisions.update(zip(going[allowed:], over, strict=True))
    skipped = dict.fromkeys(("suppressed", "no_window", "too_long"), 0)
    deferred = {"window": 0, "quota": 0}
    for decision in decisions.values():
        if decision.action == DEFER:
            deferred[decision.reason] += 1
        elif decision.action == SKIP:
            skipped[decision.reason] += 1
    eta = last_hand_over([rules.zone_set(phone) for phone, decision in decisions.items() if decision.action != SKIP],
                         window, now, mps, quota)
    return {
        "messages": {"now": allowed, "deferred": deferred, "skipped": skipped},
        "eta": campaigns.rfc3339(eta),
        # The window is [start, end): a last hand-over at its end is already outside it.
        "finishes_in_window": eta is None or eta < _window_close(organization.timezone, window, now),
    }


def _window_close(zone_name: str, window: Window, now: datetime) -> datetime:
    """The end of today's window in the organization's zone."""
    start = day_start(zone_name, now)
    local_midnight = start.astimezone(ZoneInfo(zone_name))
    return (local_midnight + timedelta(minutes=window.end)).astimezone(now.tzinfo)


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
