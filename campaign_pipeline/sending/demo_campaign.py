"""`make run`'s demo campaign: after a day is built and loaded, one campaign of the
sample's first organization, scheduled here and dispatched by `make run`
through Dagster's `campaign_sends` with the proof provider (nothing leaves the
machine), so a newcomer sees the whole path and where its files are.

Idempotent: the demo campaign is found by its name and reused, never piled up.
A draft is scheduled; a campaign already sent is left as it is (its pass finds
nothing due) and its latest run's summary is shown. It uses the functions the
command line uses (organizations.py, campaigns.py, messages_export.py).

Choice: the demo campaign's window is the whole day (00:00-24:00), so the demo
shows hand-overs at any hour; real campaigns use their organization's window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.files.storage import S3_SCHEME, write_atomically
from campaign_pipeline.sending import campaigns as campaign_service
from campaign_pipeline.sending import organizations
from campaign_pipeline.sending.artifacts import run_folder
from campaign_pipeline.sending.db.models import attempts, campaigns, dataset_days, dataset_rows, messages
from campaign_pipeline.sending.messages_export import export_messages

DEMO_NAME = "make run demo"
DEMO_BODY = "Hi {first_name}, this is the make run demo (proof provider: nothing is sent)."
DEMO_WINDOW = "00:00-24:00"


@dataclass(frozen=True)
class Demo:
    organization_id: str
    campaign_id: int
    created: bool


def first_organization(engine: Engine, day: date) -> tuple[str, str]:
    """(organization, segment) of the day's loaded datasets: the first organization by id,
    in its first segment; InputError when the day has no loaded row."""
    with engine.connect() as connection:
        row = connection.execute(
            select(dataset_rows.c.organization_id, dataset_rows.c.segment)
            .join(dataset_days, (dataset_days.c.day == dataset_rows.c.day)
                  & (dataset_days.c.segment == dataset_rows.c.segment))
            .where(dataset_rows.c.day == day, dataset_days.c.status == "loaded")
            .order_by(dataset_rows.c.organization_id, dataset_rows.c.segment).limit(1)).first()
    if row is None:
        raise InputError(f"no dataset row of {day} is loaded: nothing to make a demo campaign of")
    return row.organization_id, row.segment


def prepare_demo(engine: Engine, day: date, log: JsonLog | None = None) -> Demo:
    """Finds (or creates) the demo campaign of the day's first organization and schedules
    it when it is a draft; the pass itself is the caller's (make run: Dagster's
    `campaign_sends` with the proof provider)."""
    organization_id, segment = first_organization(engine, day)
    with engine.connect() as connection:
        known = organizations.get(connection, organization_id) is not None
        found = connection.execute(
            select(campaigns.c.id).where(campaigns.c.organization_id == organization_id,
                                         campaigns.c.name == DEMO_NAME).order_by(campaigns.c.id).limit(1)).scalar()
    if not known:
        organizations.set_organization(engine, organization_id, {})  # the defaults
    created = found is None
    if created:
        found = campaign_service.create_campaign(engine, organization_id, name=DEMO_NAME, body=DEMO_BODY,
                                                 segment=segment, day=day, window=DEMO_WINDOW)["id"]
    with engine.connect() as connection:
        status = campaign_service.get_campaign(connection, organization_id, found).status
    if status == "draft":
        campaign_service.schedule_campaign(engine, organization_id, found, log=log)
    return Demo(organization_id, found, created)


def export_demo(engine: Engine, demo: Demo, output_root: str) -> tuple[str, int]:
    """The campaign's messages export at `<output root>/campaigns/<id>/messages.csv`, rewritten."""
    data, rows = export_messages(engine, demo.organization_id, demo.campaign_id)
    path = f"{output_root.rstrip('/')}/campaigns/{demo.campaign_id}/messages.csv"
    if not path.startswith(S3_SCHEME):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomically({path: data})
    return path, rows


def latest_folder(engine: Engine, output_root: str, campaign_id: int) -> str | None:
    """The artifacts of the campaign's latest pass that handed something over."""
    with engine.connect() as connection:
        run_id = connection.execute(
            select(attempts.c.run_id).join(messages, messages.c.id == attempts.c.message_id)
            .where(messages.c.campaign_id == campaign_id, attempts.c.run_id.is_not(None))
            .order_by(attempts.c.id.desc()).limit(1)).scalar()
    return None if run_id is None else run_folder(output_root, campaign_id, run_id)
