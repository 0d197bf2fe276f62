"""Campaign use cases: create, update, delete, schedule, pause, resume, cancel,
show, list (contract sending.md, "Campaigns").

Every state change is ONE guarded statement, `... WHERE id = :id AND
organization_id = :org AND status IN (<allowed>)`, never a read then a write: of
two commands racing on one campaign, the database lets one match. When it
matches no row the campaign is read only to word the error: "not found" (also
for another organization's id: never a hint that it exists) or the illegal
transition naming the current state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, delete, insert, select, update

from campaign_pipeline.dataset.columns import SEGMENTS
from campaign_pipeline.common.errors import InputError
from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.common.values import database_id
from campaign_pipeline.sending import audience as audiences
from campaign_pipeline.sending import funnel, organizations
from campaign_pipeline.sending.db.bulk import bulk_insert
from campaign_pipeline.sending.db.engine import writing
from campaign_pipeline.sending.db.models import campaigns, dataset_days, messages
from campaign_pipeline.sending.rules import funnel as funnel_rules
from campaign_pipeline.sending.rules import lifecycle, templates, windows

# Times shown and exported: RFC 3339 in UTC with `Z`, to the second (as the dataset's consent_at).
RFC3339_UTC = "%Y-%m-%dT%H:%M:%SZ"
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d also matches "２" and "٢"


class NotFound(InputError):
    """An unknown campaign, or one of another organization: the same words for both."""


def create_campaign(engine: Engine, organization_id: str, *, name: str, body: str, segment: str | None = None,
                    dataset: str | Path | None = None, day: str | date | None = None,
                    window: str | None = None) -> dict:
    """A new `draft`; its template, window and dataset are checked first, so a
    campaign that exists can be scheduled unless its dataset changed since."""
    if not name.strip():
        raise InputError("a campaign needs a name (--name)")
    templates.check_template(body)
    if segment not in (None, *SEGMENTS):
        raise InputError(f"unknown segment {segment!r}: buyer or non_buyer")
    if (dataset is None) == (day is None):
        raise InputError("a campaign takes its audience from --dataset FILE or --day D (one of them)")
    window_start = window_end = None
    if window is not None:
        window_start, window_end = str(windows.parse_window(window)).split("-")
    dataset_path = None if dataset is None else str(Path(dataset).resolve())
    day = None if day is None else parse_day(day)
    if dataset_path is not None:  # read before the write lock is taken: it may be 10^6 rows
        _, segment = audiences.read_dataset_file(dataset_path, organization_id, segment)
    segment = segment or SEGMENTS[0]
    with writing(engine) as connection, connection.begin():
        require_organization(connection, organization_id)
        if day is not None:
            require_loaded_day(connection, day, segment)
        now = _now()
        campaign_id = connection.execute(
            insert(campaigns).values(
                organization_id=organization_id, name=name, body=body, segment=segment, day=day,
                dataset_path=dataset_path, window_start=window_start, window_end=window_end,
                status="draft", created_at=now, updated_at=now,
            ).returning(campaigns.c.id)
        ).scalar_one()
    return {"id": campaign_id, "status": "draft"}


def update_campaign(engine: Engine, organization_id: str, campaign_id: int | str, *, name: str | None = None,
                    body: str | None = None) -> dict:
    changes = {}
    if name is not None:
        if not name.strip():
            raise InputError("a campaign needs a name (--name)")
        changes["name"] = name
    if body is not None:
        templates.check_template(body)
        changes["body"] = body
    if not changes:
        raise InputError("nothing to update: give --name and/or --body")
    with writing(engine) as connection, connection.begin():
        _change(connection, organization_id, campaign_id, "update", **changes)
    return {"id": _id(campaign_id), "status": "draft"}


def delete_campaign(engine: Engine, organization_id: str, campaign_id: int | str) -> dict:
    """Deletes a draft (and its test messages: a draft has no other)."""
    with writing(engine) as connection, connection.begin():
        deleted = connection.execute(delete(campaigns).where(*_guard(organization_id, campaign_id, "delete")))
        if deleted.rowcount == 0:
            _refuse(connection, organization_id, campaign_id, "delete")
    return {"id": _id(campaign_id), "deleted": True}


def schedule_campaign(engine: Engine, organization_id: str, campaign_id: int | str, *, at: str | None = None,
                      now: datetime | None = None, log: JsonLog | None = None) -> dict:
    """`draft` -> `scheduled`, freezing the audience: one `pending` message per
    phone with its rendered body, encoding and segments.

    All in one transaction, the guarded status change first: it takes the
    campaign's row lock (PostgreSQL) or the write lock (SQLite), so a racing
    schedule, cancel, update or delete waits, then finds the campaign no longer
    a draft; the loser never reaches the insert (no duplicate-key error, never a
    second audience). A dataset that cannot be read raises after the change and
    rolls it back: the campaign stays a draft."""
    now = now or _now()
    start = windows.schedule_time(at, now)
    began = time.perf_counter()
    with writing(engine) as connection, connection.begin():
        row = _change(
            connection, organization_id, campaign_id, "schedule", scheduled_at=start,
            returning=(campaigns.c.body, campaigns.c.segment, campaigns.c.day, campaigns.c.dataset_path),
        )
        audience = read_audience(connection, organization_id, row.segment, day=row.day, dataset=row.dataset_path)
        frozen = audiences.messages_for(audience, templates.check_template(row.body))
        inserted = _insert_messages(connection, frozen, _id(campaign_id), organization_id, now)
    if log is not None:
        log.info("audience_frozen", campaign_id=_id(campaign_id), organization_id=organization_id, messages=inserted,
                 seconds=round(time.perf_counter() - began, 3))
    return {"id": _id(campaign_id), "status": "scheduled", "scheduled_at": rfc3339(start), "messages": inserted}


def pause_campaign(engine: Engine, organization_id: str, campaign_id: int | str) -> dict:
    # paused_from keeps the state `resume` returns to; SET reads the old status.
    with writing(engine) as connection, connection.begin():
        _change(connection, organization_id, campaign_id, "pause", paused_from=campaigns.c.status)
    return {"id": _id(campaign_id), "status": "paused"}


def resume_campaign(engine: Engine, organization_id: str, campaign_id: int | str) -> dict:
    with writing(engine) as connection, connection.begin():
        row = _change(connection, organization_id, campaign_id, "resume", status=campaigns.c.paused_from,
                      paused_from=None, returning=(campaigns.c.status,))
    return {"id": _id(campaign_id), "status": row.status}


def cancel_campaign(engine: Engine, organization_id: str, campaign_id: int | str) -> dict:
    """`cancelled`, and in the same transaction every message not yet handed
    over (pending, deferred) `cancelled` too. A message a dispatcher already
    marked `submitting` was handed over and keeps its course."""
    now = _now()
    with writing(engine) as connection, connection.begin():
        _change(connection, organization_id, campaign_id, "cancel", finished_at=now)
        cancelled = connection.execute(
            update(messages)
            .where(messages.c.campaign_id == _id(campaign_id), messages.c.organization_id == organization_id,
                   messages.c.kind == "campaign",
                   messages.c.status.in_(sorted(lifecycle.CANCELLABLE_MESSAGE_STATUSES)))
            .values(status="cancelled", updated_at=now)
        ).rowcount
    return {"id": _id(campaign_id), "status": "cancelled", "messages_cancelled": cancelled}


def show_campaign(engine: Engine, organization_id: str, campaign_id: int | str) -> dict:
    """The campaign, its messages per status and its delivery funnel (rules/funnel.py)."""
    with engine.connect() as connection:
        row = _read(connection, organization_id, campaign_id)
        # One read of the messages serves both the counts per status and the funnel.
        groups, replied, opted_out = funnel.read(connection, row.id)
    return {**_document(row), "messages": funnel_rules.status_counts(groups),
            "funnel": funnel_rules.shape(groups, replied, opted_out)}


def list_campaigns(engine: Engine, organization_id: str, status: str | None = None) -> list[dict]:
    if status is not None and status not in lifecycle.CAMPAIGN_STATES:
        raise InputError(f"unknown campaign status {status!r}: one of {', '.join(lifecycle.CAMPAIGN_STATES)}")
    query = select(campaigns).where(campaigns.c.organization_id == organization_id).order_by(campaigns.c.id)
    if status is not None:
        query = query.where(campaigns.c.status == status)
    with engine.connect() as connection:
        require_organization(connection, organization_id)
        return [_document(row) for row in connection.execute(query)]


def list_campaign_ids(engine: Engine, statuses: Iterable[str]) -> list[int]:
    """Ids of every organization's campaigns in these states (for Dagster's
    dynamic partitions: one per campaign once it is scheduled)."""
    query = select(campaigns.c.id).where(campaigns.c.status.in_(sorted(set(statuses)))).order_by(campaigns.c.id)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def get_campaign(connection: Connection, organization_id: str, campaign_id: int | str):
    """The campaign's row, or NotFound (naming the organization when it is the one unknown)."""
    return _read(connection, organization_id, campaign_id)


def find_campaign(connection: Connection, campaign_id: int | str, organization_id: str | None = None):
    """The campaign's row, of that organization when one is given (`get_campaign`), else of
    any: what `dispatch --campaign` and `poll --campaign` name. NotFound when there is none."""
    if organization_id is not None:
        return get_campaign(connection, organization_id, campaign_id)
    row = connection.execute(select(campaigns).where(campaigns.c.id == _id(campaign_id))).first()
    if row is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return row


def read_audience(connection: Connection, organization_id: str, segment: str, *, day: date | None,
                  dataset: str | None) -> pl.DataFrame:
    """A campaign's audience from its dataset file or its day's checked dataset."""
    if day is None:
        return audiences.read_dataset_file(dataset, organization_id, segment)[0]
    require_loaded_day(connection, day, segment)
    return audiences.read_dataset_day(connection, day, organization_id, segment)


def require_organization(connection: Connection, organization_id: str) -> None:
    if organizations.get(connection, organization_id) is None:
        raise NotFound(f"organization {organization_id} not found: create it with campaign-cli org set {organization_id}")


def require_loaded_day(connection: Connection, day: date, segment: str) -> None:
    """A usage error naming why unless the day's dataset of this segment passed its checks and was loaded."""
    found = connection.execute(
        select(dataset_days.c.status, dataset_days.c.failed_checks)
        .where(dataset_days.c.day == day, dataset_days.c.segment == segment)
    ).first()
    if found is None:
        raise InputError(f"dataset of {day} ({segment}) was never loaded: build it in Dagster, or its checks failed")
    if found.status != "loaded":
        checks = f": {found.failed_checks}" if found.failed_checks else ""
        raise InputError(f"dataset of {day} ({segment}) failed its checks{checks}; it was not loaded")


def parse_day(day: str | date) -> date:
    if isinstance(day, date):
        return day
    try:
        if not _DAY.fullmatch(day):
            raise ValueError
        return date.fromisoformat(day)
    except ValueError:
        raise InputError(f"--day {day!r} is not a day: YYYY-MM-DD") from None


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime(RFC3339_UTC)


def _change(connection: Connection, organization_id: str, campaign_id: int | str, command: str,
            returning: tuple = (), **values):
    """The guarded UPDATE of `command`: one statement, or the error it deserves."""
    if "status" not in values:  # resume passes it: the state paused_from kept
        values["status"] = lifecycle.target(command, min(lifecycle.allowed_from(command)))
    statement = (update(campaigns).where(*_guard(organization_id, campaign_id, command))
                 .values(updated_at=_now(), **values))
    if returning:
        row = connection.execute(statement.returning(*returning)).first()
        matched = row is not None
    else:
        row, matched = None, connection.execute(statement).rowcount == 1
    if not matched:
        _refuse(connection, organization_id, campaign_id, command)
    return row


def _guard(organization_id: str, campaign_id: int | str, command: str) -> tuple:
    return (campaigns.c.id == _id(campaign_id), campaigns.c.organization_id == organization_id,
            campaigns.c.status.in_(sorted(lifecycle.allowed_from(command))))


def _refuse(connection: Connection, organization_id: str, campaign_id: int | str, command: str):
    """Words why a guarded statement matched nothing; always raises."""
    row = _read(connection, organization_id, campaign_id)
    raise lifecycle.IllegalTransition(command, row.status, row.id)


def _read(connection: Connection, organization_id: str, campaign_id: int | str):
    row = connection.execute(
        select(campaigns).where(campaigns.c.id == _id(campaign_id), campaigns.c.organization_id == organization_id)
    ).first()
    if row is None:
        require_organization(connection, organization_id)  # the better error when the organization is unknown
        raise NotFound(f"campaign {campaign_id} not found")
    return row


def _id(campaign_id: int | str) -> int:
    """The integer id; anything else, or one beyond the column, cannot name a campaign (-1 matches none)."""
    value = database_id(campaign_id)
    return -1 if value is None else value


def _document(row) -> dict:
    window = f"{row.window_start}-{row.window_end}" if row.window_start else None
    return {
        "id": row.id, "organization_id": row.organization_id, "name": row.name, "status": row.status,
        "segment": row.segment, "day": None if row.day is None else row.day.isoformat(),
        "dataset": row.dataset_path, "window": window, "body": row.body,
        "scheduled_at": rfc3339(row.scheduled_at), "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


def _insert_messages(connection: Connection, frozen: pl.DataFrame, campaign_id: int, organization_id: str,
                     now: datetime) -> int:
    return bulk_insert(
        connection, messages, frozen.select("phone", "subject_id", "body", "encoding", "segments"),
        constants={"campaign_id": campaign_id, "organization_id": organization_id, "kind": "campaign",
                   "status": "pending", "attempts": 0, "polls": 0, "created_at": now, "updated_at": now},
    )


def _now() -> datetime:
    return datetime.now(UTC)
