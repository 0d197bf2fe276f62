"""Replies are indexed by the message they answer: a campaign's funnel joins its
messages to their replies, and deleting a message nulls its replies' link.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_replies_message_id", "replies", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_replies_message_id", table_name="replies")
