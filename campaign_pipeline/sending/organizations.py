"""Organizations' sending settings: sender, time zone, sending window, daily
quota, rate and help text (contract: sending.md, "Organizations").

An organization that was never set has the defaults (`settings`), so a
campaign can be prepared before anyone configures it; `org show` of such an
id is "not found" (`get`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending.db.engine import dialect_insert, writing
from campaign_pipeline.sending.db.models import organizations, utc_now
from campaign_pipeline.sending.rules.senders import sender_kind

DEFAULT_TIMEZONE = "Europe/Helsinki"
DEFAULT_WINDOW = "09:00-20:00"
DEFAULT_MPS = 10



@dataclass(frozen=True)
class Organization:
    id: str
    sender: str | None
    timezone: str
    window: str
    daily_quota: int | None
    mps: int
    help_text: str | None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def sending_window(self):
        """The window as sending/rules/windows.py's Window (minutes of the day)."""
        from campaign_pipeline.sending.rules.windows import parse_window

        return parse_window(self.window)

    def window_of(self, campaign):
        """The window `campaign` (a campaigns row) sends in: its own when it has one, else
        this organization's."""
        from campaign_pipeline.sending.rules.windows import parse_window

        if campaign.window_start:
            return parse_window(f"{campaign.window_start}-{campaign.window_end}")
        return self.sending_window

    def as_json(self) -> dict:
        document = asdict(self)
        for name in ("created_at", "updated_at"):
            value = document[name]
            document[name] = value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
        return document


def check_organization_id(organization_id: str) -> str:
    """An organization id as the portal gives it: non-empty text, no control
    characters, at most 64 characters; `*` is the scope of every organization."""
    if not organization_id or not organization_id.strip():
        raise InputError("an organization id is required")
    if organization_id == "*":
        raise InputError("'*' is not an organization id (use --all for every organization)")
    if len(organization_id) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in organization_id):
        raise InputError("an organization id is at most 64 characters, without control characters")
    return organization_id


def check_sender(sender: str) -> str:
    """An E.164 number, an alphanumeric sender id (at most 11 letters, digits
    or spaces, at least one letter) or a Twilio Messaging Service id (MG + 32 hex)."""
    if sender_kind(sender) is not None:  # rules/senders.py
        return sender
    raise InputError(
        "--sender must be an E.164 number (+358401234567), an alphanumeric sender id of at most 11 letters,"
        " digits or spaces, or a Messaging Service id (MG and 32 hex digits)"
    )


def _defaults(organization_id: str) -> dict:
    start, end = DEFAULT_WINDOW.split("-")
    return {"id": organization_id, "sender": None, "timezone": DEFAULT_TIMEZONE, "window_start": start,
            "window_end": end, "daily_quota": None, "mps": DEFAULT_MPS, "help_text": None}


def _from_row(row) -> Organization:
    return Organization(
        id=row.id, sender=row.sender, timezone=row.timezone, window=f"{row.window_start}-{row.window_end}",
        daily_quota=row.daily_quota, mps=row.mps, help_text=row.help_text,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def get(connection: Connection, organization_id: str) -> Organization | None:
    row = connection.execute(select(organizations).where(organizations.c.id == organization_id)).first()
    return None if row is None else _from_row(row)


def settings(connection: Connection, organization_id: str) -> Organization:
    """The organization's settings, the defaults when it was never set."""
    found = get(connection, organization_id)
    if found is not None:
        return found
    return Organization(id=organization_id, sender=None, timezone=DEFAULT_TIMEZONE, window=DEFAULT_WINDOW,
                        daily_quota=None, mps=DEFAULT_MPS, help_text=None)


def by_sender(connection: Connection, sender: str) -> Organization | None:
    """The organization whose sender this is (inbound messages' `To`)."""
    row = connection.execute(
        select(organizations).where(organizations.c.sender == sender).order_by(organizations.c.id).limit(1)
    ).first()
    return None if row is None else _from_row(row)


def set_organization(engine: Engine, organization_id: str, changes: dict) -> Organization:
    """Creates the organization with the defaults and `changes`, or updates only
    `changes` of an existing one: one INSERT .. ON CONFLICT DO UPDATE.

    `changes` keys are the table's columns (window as window_start/window_end),
    already validated; None clears sender, help_text or daily_quota."""
    now = utc_now()
    values = {**_defaults(organization_id), **changes, "created_at": now, "updated_at": now}
    with writing(engine) as connection, connection.begin():
        statement = dialect_insert(connection, organizations).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["id"], set_={**changes, "updated_at": now},
        )
        connection.execute(statement)
        return get(connection, organization_id)

