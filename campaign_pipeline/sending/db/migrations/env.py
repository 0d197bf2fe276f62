"""Alembic environment: migrates the connection open_database() passes in
(config.attributes["connection"]), or, run from the alembic command line, the
database of CAMPAIGN_DB_URL."""

from alembic import context

from campaign_pipeline.sending.db.models import metadata

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from campaign_pipeline.sending.db.engine import _engine, database_url
    from sqlalchemy import make_url

    engine = _engine(make_url(database_url()))
    with engine.begin() as opened:
        _run(opened)
