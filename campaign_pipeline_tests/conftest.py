import gzip
import json
from pathlib import Path

import pytest


def write_export(path: Path, lines, compress: bool = False) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    path.write_bytes(gzip.compress(text.encode(), mtime=0) if compress else text.encode())
    return path


@pytest.fixture
def export(tmp_path):
    """Writes export lines to a file and returns its path."""
    counter = iter(range(1000))

    def _write(lines, compress=False):
        suffix = ".jsonl.gz" if compress else ".jsonl"
        return write_export(tmp_path / f"export-{next(counter)}{suffix}", lines, compress)

    return _write


@pytest.fixture(scope="session")
def postgres_server():
    """The one PostgreSQL server of the test session (campaign_pipeline_tests/postgres.py)."""
    from campaign_pipeline_tests.postgres import serve

    yield from serve()


@pytest.fixture(scope="session")
def campaign_databases(postgres_server):
    from campaign_pipeline_tests.postgres import CampaignDatabases

    return CampaignDatabases(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def campaign_db_url(request, tmp_path):
    """An empty campaign database, on SQLite and on PostgreSQL (a fresh database
    on the shared server), so every database test runs on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'campaign.db'}"
        return
    databases = request.getfixturevalue("campaign_databases")
    name, url = databases.create()
    try:
        yield url
    finally:
        databases.server.drop_database(name)


@pytest.fixture
def campaign_engine(campaign_db_url):
    """An Engine on the migrated campaign database of campaign_db_url."""
    from campaign_pipeline.sending.db.engine import open_database

    engine = open_database(campaign_db_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def own_campaign_database(monkeypatch, tmp_path_factory):
    """CAMPAIGN_DB_URL: an SQLite file of this test alone, not yet created (a
    test may set another), so that no test reads or writes the project's
    default `.state/campaign.db`, which `make run` fills."""
    path = tmp_path_factory.mktemp("campaign-db") / "campaign.db"
    monkeypatch.setenv("CAMPAIGN_DB_URL", f"sqlite:///{path}")
