"""The campaign database's tables (SQLAlchemy Core).

Every row of organization data carries its `organization_id`; `'*'` in
`suppressions.organization_id` means every organization. Two tables hold
facts of no single organization: `dataset_days` (one build covers every
organization) and `switches` (the global kill switch).

Times are UTC-aware datetimes on both dialects (`UtcDateTime`); phones are
E.164 strings. Migrations under `migrations/versions` create these tables; a
test compares them with this module, so a change here needs a migration.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

ALL_ORGANIZATIONS = "*"

# Constraint names fixed by convention, so migrations can name what they alter.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator):
    """An aware datetime in, an aware UTC datetime out, on every dialect.

    SQLite has no time zone type: values are stored as naive UTC text, which
    also sorts and compares correctly. A naive datetime is refused on the way
    in, because its zone would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamps() -> list[Column]:
    return [
        Column("created_at", UtcDateTime, nullable=False, default=utc_now),
        Column("updated_at", UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now),
    ]


ORG = 64  # organization ids: the portal's ids, short strings
PHONE = 16  # E.164: '+' and at most 15 digits

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(ORG), primary_key=True),
    # E.164, an alphanumeric sender id (<= 11) or `MG` + 32 hex: 34 at most.
    Column("sender", String(64)),
    Column("timezone", String(64), nullable=False),
    # The sending window, local time: 'HH:MM', the end may be '24:00'.
    Column("window_start", String(5), nullable=False),
    Column("window_end", String(5), nullable=False),
    Column("daily_quota", Integer),  # NULL: no quota
    Column("mps", Integer, nullable=False),
    Column("help_text", Text),
    *_timestamps(),
    Index("ix_organizations_sender", "sender"),  # inbound messages find their organization by sender
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("organization_id", String(ORG), primary_key=True),  # or '*'
    Column("phone", String(PHONE), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
    Index("ix_suppressions_phone", "phone"),
)

# One row per built day and segment: whether its blocking checks passed, and
# where its file is. Written by Dagster after the checks; a campaign's `--day`
# reads it.
dataset_days = Table(
    "dataset_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("segment", String(16), primary_key=True),
    Column("status", String(16), nullable=False),  # 'loaded' | 'checks_failed'
    Column("failed_checks", Text),  # names of the failed checks, when any
    Column("row_count", Integer, nullable=False, default=0),
    Column("dataset_path", Text),
    Column("run_id", String(64)),
    Column("loaded_at", UtcDateTime, nullable=False, default=utc_now),
)

# The dataset's columns (campaign-dataset.md, "Output"), plus its row order.
dataset_rows = Table(
    "dataset_rows",
    metadata,
    Column("day", Date, primary_key=True),
    Column("segment", String(16), primary_key=True),
    Column("organization_id", String(ORG), primary_key=True),
    Column("phone", String(PHONE), primary_key=True),
    Column("position", Integer, nullable=False),  # row number in the dataset file: its order
    Column("region", String(2)),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("job_id", Text),
    Column("job_name", Text),
    Column("activity_id", Text),
    Column("activity_name", Text),
    Column("group_name", Text),
    Column("subject_id", Text),
    Column("access_key", Text),
    Column("contact_source", String(16)),
    Column("consent_at", String(32)),
    Column("locale", String(32)),
    Column("subject_count", Integer),
    Column("subject_ids", Text),
    Column("access_keys", Text),
    ForeignKeyConstraint(["day", "segment"], ["dataset_days.day", "dataset_days.segment"], ondelete="CASCADE"),
    Index("ix_dataset_rows_day_segment_organization_id_position", "day", "segment", "organization_id", "position"),
)

CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled", "failed")

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(ORG), nullable=False),
    Column("name", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("segment", String(16), nullable=False),
    Column("day", Date),  # --day: that day's checked dataset
    Column("dataset_path", Text),  # --dataset: a file
    Column("window_start", String(5)),  # --window override; NULL: the organization's
    Column("window_end", String(5)),
    Column("status", String(16), nullable=False),
    Column("paused_from", String(16)),  # the state `resume` returns to
    Column("scheduled_at", UtcDateTime),
    Column("sending_started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),  # reached sent, failed or cancelled
    *_timestamps(),
    Index("ix_campaigns_organization_id_status", "organization_id", "status"),
    Index("ix_campaigns_status_scheduled_at", "status", "scheduled_at"),
)

MESSAGE_STATUSES = (
    "pending", "deferred", "submitting", "accepted", "queued", "sending", "sent",
    "delivered", "undelivered", "failed", "skipped", "cancelled", "unknown",
)

# The statuses a poll asks about (lifecycle.POLLED_STATUSES), as a constant SQL predicate:
# a partial index serves a query only when the query repeats its predicate literally.
POLLED = text("status IN ('accepted', 'queued', 'sending', 'sent')")

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("organization_id", String(ORG), nullable=False),
    Column("kind", String(8), nullable=False),  # 'campaign' | 'test'
    Column("phone", String(PHONE), nullable=False),
    Column("subject_id", Text),
    Column("body", Text, nullable=False),
    Column("encoding", String(8)),  # 'gsm7' | 'ucs2'
    Column("segments", Integer),
    Column("status", String(16), nullable=False),
    Column("reason", String(32)),  # why skipped: suppressed, no_window, too_long
    Column("not_before", UtcDateTime),  # deferred until
    Column("attempts", Integer, nullable=False, default=0),
    Column("provider_message_id", String(128)),
    Column("error_code", String(32)),
    Column("handed_over_at", UtcDateTime),
    Column("status_at", UtcDateTime),  # when the provider's status last changed
    Column("polls", Integer, nullable=False, default=0),  # delivery polls made since hand-over
    Column("last_polled_at", UtcDateTime),  # when the provider was last asked for its status
    Column("next_poll_at", UtcDateTime),  # when the poll schedule asks next (rules/polling.py); None: no more
    *_timestamps(),
    CheckConstraint("kind IN ('campaign', 'test')", name="kind"),
    # One campaign message per (campaign, phone); test messages may repeat.
    Index(
        "uq_messages_campaign_id_phone", "campaign_id", "phone", unique=True,
        sqlite_where=text("kind = 'campaign'"), postgresql_where=text("kind = 'campaign'"),
    ),
    Index("ix_messages_campaign_id_status", "campaign_id", "status"),
    Index("ix_messages_organization_id_phone", "organization_id", "phone"),
    Index("ix_messages_organization_id_handed_over_at", "organization_id", "handed_over_at"),
    Index("ix_messages_provider_message_id", "provider_message_id", unique=True),
    # The messages a poll is due for are one range of this index: only the not-final
    # ones are in it, so the final ones (nearly all, in time) cost nothing to skip.
    Index("ix_messages_next_poll_at", "next_poll_at", sqlite_where=POLLED, postgresql_where=POLLED),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("organization_id", String(ORG), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("outcome", String(32)),  # NULL while the provider's answer is not recorded
    Column("provider_status", String(32)),
    Column("error_code", String(32)),
    Column("run_id", String(64)),
    UniqueConstraint("message_id", "number"),
    Index("ix_attempts_run_id", "run_id"),
)

replies = Table(
    "replies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(ORG), nullable=False),
    Column("phone", String(PHONE), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("provider_message_id", String(128), nullable=False, unique=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("action", String(16)),  # the keyword's consequence: 'stop', 'start', 'help'
    Index("ix_replies_organization_id_phone", "organization_id", "phone"),
    # A campaign's funnel joins its messages to their replies, and deleting a
    # message nulls its replies' link: both look replies up by message.
    Index("ix_replies_message_id", "message_id"),
)

leases = Table(
    "leases",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", String(ORG), nullable=False),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_leases_organization_id", "organization_id"),
)

switches = Table(
    "switches",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now),
)
