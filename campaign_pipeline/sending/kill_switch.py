"""The kill switch: one global flag in the campaign database. While it is on,
no dispatcher hands anything over (contract: sending.md, "Sending" step 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select

from campaign_pipeline.sending.db.engine import dialect_insert, writing
from campaign_pipeline.sending.db.models import switches, utc_now

KILL_SWITCH = "kill_switch"


def set_kill_switch(engine: Engine, on: bool) -> None:
    value = "on" if on else "off"
    now = utc_now()
    with writing(engine) as connection, connection.begin():
        connection.execute(
            dialect_insert(connection, switches).values(name=KILL_SWITCH, value=value, updated_at=now)
            .on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": now})
        )


def kill_switch(connection: Connection) -> tuple[bool, datetime | None]:
    """(on, when it was last turned on or off); off when never set."""
    row = connection.execute(
        select(switches.c.value, switches.c.updated_at).where(switches.c.name == KILL_SWITCH)
    ).first()
    return (False, None) if row is None else (row.value == "on", row.updated_at)


def kill_switch_on(connection: Connection) -> bool:
    return kill_switch(connection)[0]
