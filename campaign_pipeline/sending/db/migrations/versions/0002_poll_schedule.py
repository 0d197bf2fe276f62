"""Messages remember when the provider was last asked for their status and when
the poll schedule asks next, with a partial index of the not-final ones by that
instant (the due query is one index range).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
# Written out (not imported from the models): a migration stays what it was when the models move on.
POLLED = sa.text("status IN ('accepted', 'queued', 'sending', 'sent')")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("last_polled_at", UTC_TIME))
        batch.add_column(sa.Column("next_poll_at", UTC_TIME))
    op.create_index("ix_messages_next_poll_at", "messages", ["next_poll_at"],
                    sqlite_where=POLLED, postgresql_where=POLLED)
    # Messages already out there and not final are asked about at the next poll;
    # after it, the schedule decides (which may be: no more).
    op.execute(sa.text("UPDATE messages SET next_poll_at = handed_over_at "
                       "WHERE handed_over_at IS NOT NULL AND " + POLLED.text))


def downgrade() -> None:
    op.drop_index("ix_messages_next_poll_at", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("next_poll_at")
        batch.drop_column("last_polled_at")
