"""Opening the campaign database: which one, its connection settings, and
migrating it to the newest schema before anything reads it.

`CAMPAIGN_DB_URL` (an SQLAlchemy URL) chooses the database; without it, an
SQLite file `.state/campaign.db` under the current folder. The Dagster
instance's `DAGSTER_PG_*` settings are never read here: the campaign database
is the product's, the instance is Dagster's bookkeeping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError

from campaign_pipeline.common.errors import RunFailed

STATE_DIR = ".state"
DEFAULT_FILE = "campaign.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: one migrating process per PostgreSQL database.
_MIGRATION_LOCK = 0x63616D70  # "camp"
_BUSY_TIMEOUT_MS = 30_000


def database_url(env: Mapping[str, str] | None = None) -> str:
    """The campaign database's URL: `CAMPAIGN_DB_URL`, else the SQLite file in
    the state folder (made absolute, so a later chdir changes nothing)."""
    env = os.environ if env is None else env
    url = (env.get("CAMPAIGN_DB_URL") or "").strip()
    if url:
        return url
    return f"sqlite:///{(Path.cwd() / STATE_DIR / DEFAULT_FILE).as_posix()}"


def existing_database(url: str | None = None) -> Engine | None:
    """The campaign database for a reader that must not create one (the dataset
    build, the campaigns sensor): None when it is an SQLite file that does not
    exist yet (nothing was ever stored there), default or set. A server must be
    reachable: one that is not is RunFailed, as for every command."""
    url = database_url() if url is None else url
    try:
        parsed = make_url(url)
    except Exception:
        parsed = None  # open_database names the problem
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            return None
    return open_database(url)


def masked_url(url: str | URL) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: show its scheme at most
        return str(url).split(":", 1)[0] + ":…"


def open_database(url: str | None = None, *, migrate: bool = True, **pool_options) -> Engine:
    """An Engine on the campaign database, migrated to the newest schema.

    `pool_options` go to create_engine (pool_size, max_overflow: a server sizes
    its pool). An unreachable database is RunFailed with one line naming it
    (password masked); a malformed URL is an InputError."""
    from campaign_pipeline.common.errors import InputError

    url = database_url() if url is None else url
    try:
        parsed = make_url(url)
    except Exception:
        raise InputError(f"CAMPAIGN_DB_URL is not a database URL: {masked_url(url)}") from None
    try:
        engine = _engine(parsed, **pool_options)
    except Exception as error:  # an unknown dialect or a missing driver
        raise InputError(f"campaign database {masked_url(parsed)}: {_first_line(error)}") from None
    try:
        if migrate:
            upgrade(engine)
        else:
            with engine.connect():
                pass
    except (OperationalError, DBAPIError) as error:
        engine.dispose()
        raise RunFailed(f"campaign database {masked_url(parsed)} unreachable: {_first_line(error.orig or error)}") from None
    return engine


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _engine(url: URL, **pool_options) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **pool_options)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **pool_options)
    event.listen(engine, "connect", _sqlite_settings)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_settings(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling would BEGIN lazily and DEFERRED; the
    # `begin` listener issues BEGIN itself (IMMEDIATE for writers, see writing()).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer
    cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL, much faster
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def writing(engine: Engine) -> Connection:
    """A connection for a read-then-write transaction (`with writing(e) as c,
    c.begin():`). On SQLite it takes the write lock at BEGIN (IMMEDIATE), so two
    writers queue on busy_timeout instead of one failing with 'database is
    locked' when it upgrades a read lock; elsewhere it is a plain connection."""
    return engine.connect().execution_options(sqlite_begin="IMMEDIATE")


def _alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration: the one no other migration names as its down_revision. Read
    from the files' own lines rather than through Alembic, whose import is a fifth of a
    dispatch's start (tests check the answer against Alembic's)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"])
        parents.add(found.get("down_revision"))
    (head,) = revisions - parents
    return head


_REVISION_LINE = re.compile(r'^(revision|down_revision) = "([^"]+)"', re.MULTILINE)


def _stored_revision(connection: Connection) -> str | None:
    """The revision the database says it is at (Alembic's table), None before any."""
    try:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except DBAPIError:
        connection.rollback()
        return None


def current_revision(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Applies pending migrations; returns the revision the database is at.

    Up to date (the usual case) costs one query. Otherwise the migration runs
    in one transaction under a lock (SQLite's write lock, PostgreSQL's advisory
    lock), re-checking the revision inside it, so two processes starting on a
    fresh database migrate it once."""
    head = head_revision()
    with engine.connect() as connection:
        if _stored_revision(connection) == head:
            return head
    from alembic import command

    with writing(engine) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        if current_revision(connection) != head:
            command.upgrade(_alembic_config(connection), "head")
    return head


# pg_advisory_xact_lock classes (the first key) of the locks below.
ORGANIZATION_LOCK = 0x6F726721  # one organization's quota: count then claim
SENDING_LOCK = 0x73656E64  # the campaigns `sending` at once (CAMPAIGN_MAX_SENDING)


def serialize(connection: Connection, lock_class: int, name: str = "") -> None:
    """Makes a count-then-write inside this transaction atomic against other writers.

    SQLite needs nothing: a writing() transaction holds the database's one write lock
    from BEGIN IMMEDIATE. PostgreSQL at READ COMMITTED lets two transactions count the
    same rows before either commits; a transaction-scoped advisory lock on (class, name)
    queues them, and the second's next statement sees what the first committed."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:name))"),
                           {"lock_class": lock_class, "name": name})


def dialect_insert(connection: Connection, table):
    """The dialect's INSERT, which has on_conflict_do_nothing/do_update on both
    SQLite and PostgreSQL (one statement, no read-then-write race)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
