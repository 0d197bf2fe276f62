"""One dispatcher per campaign: the `leases` row (sending.md, "Exactly once").

Each change is one statement, never a read then a write: `acquire` is an
INSERT .. ON CONFLICT DO UPDATE whose update only applies when the row is ours
or expired, so of two dispatchers racing for a campaign exactly one gets a row
back. `renew` and `release` touch the row only while we hold it.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select, update

from campaign_pipeline.sending.db.engine import dialect_insert, writing
from campaign_pipeline.sending.db.models import leases, utc_now

LEASE_SECONDS_VARIABLE = "CAMPAIGN_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 60.0


def holder_name(run_id: str) -> str:
    """Who holds a lease: host, process and run, so an operator can tell."""
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"[:128]


def acquire(engine: Engine, campaign_id: int, organization_id: str, holder: str, seconds: float,
            now: datetime | None = None) -> bool:
    """Takes the campaign's lease when it is free, expired or already ours."""
    now = now or utc_now()
    expires = now + timedelta(seconds=seconds)
    with writing(engine) as connection, connection.begin():
        insert = dialect_insert(connection, leases).values(
            campaign_id=campaign_id, organization_id=organization_id, holder=holder, expires_at=expires)
        statement = insert.on_conflict_do_update(
            index_elements=["campaign_id"],
            set_={"holder": holder, "expires_at": expires},
            where=(leases.c.expires_at <= now) | (leases.c.holder == holder),
        )
        return connection.execute(statement).rowcount == 1


def renew(engine: Engine, campaign_id: int, holder: str, seconds: float) -> bool:
    """Extends our lease; False when it is no longer ours (taken over after it expired)."""
    with writing(engine) as connection, connection.begin():
        return connection.execute(
            update(leases).where(leases.c.campaign_id == campaign_id, leases.c.holder == holder)
            .values(expires_at=utc_now() + timedelta(seconds=seconds))
        ).rowcount == 1


def release(engine: Engine, campaign_id: int, holder: str) -> None:
    with writing(engine) as connection, connection.begin():
        connection.execute(delete(leases).where(leases.c.campaign_id == campaign_id, leases.c.holder == holder))


def live_leases(connection: Connection, organization_id: str, now: datetime | None = None) -> int:
    """Dispatchers now working on the organization's campaigns (they share its --mps)."""
    return connection.execute(
        select(func.count()).select_from(leases)
        .where(leases.c.organization_id == organization_id, leases.c.expires_at > (now or utc_now()))
    ).scalar_one()


def lease_expiry(connection: Connection, campaign_id: int) -> datetime | None:
    return connection.execute(select(leases.c.expires_at).where(leases.c.campaign_id == campaign_id)).scalar()
