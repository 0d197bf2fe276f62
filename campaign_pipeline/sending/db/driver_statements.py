"""Hot statements as SQL text in the driver's own paramstyle, built once per
dialect and batch size and run with `Connection.exec_driver_sql` inside the
caller's transaction.

Why not a SQLAlchemy statement: executing one costs about 0.3 ms of Python
(parameters, events, result set-up), measured against 27 us for SQLite's own
execute of the same UPDATE; at a thousand status callbacks a second that was
most of the server's CPU. Here a whole batch is one statement, so that cost is
paid once a batch. The SQL pieces that carry rules (the status rank) are still
compiled from the rules, never copied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

from sqlalchemy import case, literal
from sqlalchemy.engine import Dialect

from campaign_pipeline.sending.db.models import messages
from campaign_pipeline.sending.rules import lifecycle

# Statuses outside the order (never handed over, `unknown`) rank above every
# provider status, so provider news never moves them (as lifecycle.moves_forward).
OUTSIDE_RANK = max(lifecycle.MESSAGE_STATUS_RANK.values()) + 1
STATUS_RANK = case(lifecycle.MESSAGE_STATUS_RANK, value=messages.c.status, else_=literal(OUTSIDE_RANK))
# Rows per statement: far below SQLite's 32,766 bound parameters, and a batch
# of a few hundred callbacks already costs its statement overhead once.
CHUNK_ROWS = 500
STATUS_MOVE_COLUMNS = 5  # provider id, rank, status, time, error code


def chunks(items: Sequence, size: int = CHUNK_ROWS) -> Iterator[Sequence]:
    """`items` in runs of at most `size`, a statement each (bounded IN and VALUES lists)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def placeholder(dialect: Dialect) -> str:
    if dialect.paramstyle == "qmark":
        return "?"
    if dialect.paramstyle in ("format", "pyformat"):
        return "%s"
    raise ValueError(f"no driver statements for paramstyle {dialect.paramstyle!r}")


@lru_cache(maxsize=64)
def _rank_sql(dialect: Dialect) -> str:
    return str(STATUS_RANK.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@lru_cache(maxsize=1024)
def status_moves(dialect: Dialect, rows: int) -> str:
    """The guarded forward-only UPDATE of `rows` messages at once, each row's
    parameters (provider id, new status's rank, new status, time as the column
    stores it, error code or None). A provider id may appear once only (the
    join would pick any one of its rows). Returns the moved messages'
    provider_message_id, campaign_id, kind.

    The rows are a VALUES list in the order given; sorted by provider id, two
    batches committing at once lock their common messages in the same order."""
    mark = placeholder(dialect)
    row = "(" + ", ".join([mark] * STATUS_MOVE_COLUMNS) + ")"
    return (
        f"WITH news (sid, rank, status, at, code) AS (VALUES {', '.join([row] * rows)}) "
        "UPDATE messages SET status = news.status, status_at = news.at, updated_at = news.at,"
        " error_code = COALESCE(news.code, messages.error_code) "
        f"FROM news WHERE messages.provider_message_id = news.sid AND {_rank_sql(dialect)} < news.rank "
        "RETURNING messages.provider_message_id, messages.campaign_id, messages.kind"
    )


@lru_cache(maxsize=1024)
def known_messages(dialect: Dialect, rows: int) -> str:
    """provider_message_id, campaign_id, kind, status of the messages among
    `rows` provider ids: which of a batch's ids the database knows, and where
    they stand."""
    marks = ", ".join([placeholder(dialect)] * rows)
    return ("SELECT provider_message_id, campaign_id, kind, status FROM messages"
            f" WHERE provider_message_id IN ({marks})")


@lru_cache(maxsize=1024)
def suppressed_among(dialect: Dialect, rows: int) -> str:
    """The phones among `rows` numbers suppressed for an organization or for every one:
    parameters (organization, '*', phone, ...). A live pass reads it ten times a second
    for the numbers waiting on the throttle; compiling an expanding IN of 500 each time
    was most of that read's cost."""
    mark = placeholder(dialect)
    return (f"SELECT phone FROM suppressions WHERE organization_id IN ({mark}, {mark})"
            f" AND phone IN ({', '.join([mark] * rows)})")
