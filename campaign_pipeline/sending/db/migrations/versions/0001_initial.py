"""The campaign database: organizations, suppressions, checked datasets,
campaigns, messages, attempts, replies, leases, switches.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
ORG, PHONE = 64, 16


def _timestamps():
    return [sa.Column("created_at", UTC_TIME, nullable=False), sa.Column("updated_at", UTC_TIME, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(ORG), nullable=False),
        sa.Column("sender", sa.String(64)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("window_start", sa.String(5), nullable=False),
        sa.Column("window_end", sa.String(5), nullable=False),
        sa.Column("daily_quota", sa.Integer()),
        sa.Column("mps", sa.Integer(), nullable=False),
        sa.Column("help_text", sa.Text()),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
    )
    op.create_index("ix_organizations_sender", "organizations", ["sender"])

    op.create_table(
        "suppressions",
        sa.Column("organization_id", sa.String(ORG), nullable=False),
        sa.Column("phone", sa.String(PHONE), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "phone", name="pk_suppressions"),
    )
    op.create_index("ix_suppressions_phone", "suppressions", ["phone"])

    op.create_table(
        "dataset_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("segment", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failed_checks", sa.Text()),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("dataset_path", sa.Text()),
        sa.Column("run_id", sa.String(64)),
        sa.Column("loaded_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("day", "segment", name="pk_dataset_days"),
    )

    op.create_table(
        "dataset_rows",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("segment", sa.String(16), nullable=False),
        sa.Column("organization_id", sa.String(ORG), nullable=False),
        sa.Column("phone", sa.String(PHONE), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(2)),
        *(sa.Column(name, sa.Text()) for name in (
            "first_name", "last_name", "job_id", "job_name", "activity_id", "activity_name",
            "group_name", "subject_id", "access_key")),
        sa.Column("contact_source", sa.String(16)),
        sa.Column("consent_at", sa.String(32)),
        sa.Column("locale", sa.String(32)),
        sa.Column("subject_count", sa.Integer()),
        sa.Column("subject_ids", sa.Text()),
        sa.Column("access_keys", sa.Text()),
        sa.ForeignKeyConstraint(["day", "segment"], ["dataset_days.day", "dataset_days.segment"],
                                name="fk_dataset_rows_day_segment_dataset_days", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("day", "segment", "organization_id", "phone", name="pk_dataset_rows"),
    )
    op.create_index("ix_dataset_rows_day_segment_organization_id_position", "dataset_rows",
                    ["day", "segment", "organization_id", "position"])

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(ORG), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("segment", sa.String(16), nullable=False),
        sa.Column("day", sa.Date()),
        sa.Column("dataset_path", sa.Text()),
        sa.Column("window_start", sa.String(5)),
        sa.Column("window_end", sa.String(5)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paused_from", sa.String(16)),
        sa.Column("scheduled_at", UTC_TIME),
        sa.Column("sending_started_at", UTC_TIME),
        sa.Column("finished_at", UTC_TIME),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
    )
    op.create_index("ix_campaigns_organization_id_status", "campaigns", ["organization_id", "status"])
    op.create_index("ix_campaigns_status_scheduled_at", "campaigns", ["status", "scheduled_at"])

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(ORG), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("phone", sa.String(PHONE), nullable=False),
        sa.Column("subject_id", sa.Text()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(8)),
        sa.Column("segments", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("not_before", UTC_TIME),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.String(128)),
        sa.Column("error_code", sa.String(32)),
        sa.Column("handed_over_at", UTC_TIME),
        sa.Column("status_at", UTC_TIME),
        sa.Column("polls", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('campaign', 'test')", name="ck_messages_kind"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name="fk_messages_campaign_id_campaigns",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    kind_campaign = sa.text("kind = 'campaign'")
    op.create_index("uq_messages_campaign_id_phone", "messages", ["campaign_id", "phone"], unique=True,
                    sqlite_where=kind_campaign, postgresql_where=kind_campaign)
    op.create_index("ix_messages_campaign_id_status", "messages", ["campaign_id", "status"])
    op.create_index("ix_messages_organization_id_phone", "messages", ["organization_id", "phone"])
    op.create_index("ix_messages_organization_id_handed_over_at", "messages", ["organization_id", "handed_over_at"])
    op.create_index("ix_messages_provider_message_id", "messages", ["provider_message_id"], unique=True)

    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(ORG), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("finished_at", UTC_TIME),
        sa.Column("outcome", sa.String(32)),
        sa.Column("provider_status", sa.String(32)),
        sa.Column("error_code", sa.String(32)),
        sa.Column("run_id", sa.String(64)),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name="fk_attempts_message_id_messages",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.UniqueConstraint("message_id", "number", name="uq_attempts_message_id_number"),
    )
    op.create_index("ix_attempts_run_id", "attempts", ["run_id"])

    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(ORG), nullable=False),
        sa.Column("phone", sa.String(PHONE), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("provider_message_id", sa.String(128), nullable=False),
        sa.Column("message_id", sa.Integer()),
        sa.Column("action", sa.String(16)),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name="fk_replies_message_id_messages",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_replies"),
        sa.UniqueConstraint("provider_message_id", name="uq_replies_provider_message_id"),
    )
    op.create_index("ix_replies_organization_id_phone", "replies", ["organization_id", "phone"])

    op.create_table(
        "leases",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(ORG), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name="fk_leases_campaign_id_campaigns",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_leases"),
    )
    op.create_index("ix_leases_organization_id", "leases", ["organization_id"])

    op.create_table(
        "switches",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_switches"),
    )


def downgrade() -> None:
    for table in ("switches", "leases", "replies", "attempts", "messages", "campaigns",
                  "dataset_rows", "dataset_days", "suppressions", "organizations"):
        op.drop_table(table)
