"""Migration 0002 on a database that already holds messages: the ones handed over and
not final become due for a poll at once; the rest are never polled."""

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import make_url, text

from campaign_pipeline.sending.db.engine import _alembic_config, _engine, open_database, writing

HANDED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_upgrading_makes_the_messages_out_there_due_for_a_poll(campaign_db_url):
    old = _engine(make_url(campaign_db_url))
    try:
        with writing(old) as connection, connection.begin():
            command.upgrade(_alembic_config(connection), "0001")
            connection.execute(text(
                "INSERT INTO campaigns (id, organization_id, name, body, segment, status, created_at, updated_at) "
                "VALUES (1, 'org-1', 'c', 'b', 'buyer', 'sent', :at, :at)"), {"at": HANDED})
            for number, (status, handed) in enumerate([("queued", HANDED), ("sent", HANDED), ("delivered", HANDED),
                                                       ("pending", None)]):
                connection.execute(text(
                    "INSERT INTO messages (campaign_id, organization_id, kind, phone, body, status, attempts, polls, "
                    "handed_over_at, created_at, updated_at) VALUES (1, 'org-1', 'campaign', :phone, 'b', :status, "
                    "1, 0, :handed, :at, :at)"), {"phone": f"+35840100000{number}", "status": status,
                                                  "handed": handed, "at": HANDED})
    finally:
        old.dispose()
    engine = open_database(campaign_db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT status, next_poll_at IS NOT NULL, last_polled_at IS NULL "
                                           "FROM messages ORDER BY phone")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("queued", True, True), ("sent", True, True),
                                            ("delivered", False, True), ("pending", False, True)]
