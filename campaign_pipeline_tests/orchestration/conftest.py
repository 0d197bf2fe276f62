"""Every Dagster test gets its own campaign database file, so that nothing
writes the project's default `.state/campaign.db`."""

import pytest


@pytest.fixture(autouse=True)
def own_campaign_database(monkeypatch, tmp_path_factory):
    """CAMPAIGN_DB_URL: a fresh SQLite file (a test may set another)."""
    path = tmp_path_factory.mktemp("campaign-db") / "campaign.db"
    monkeypatch.setenv("CAMPAIGN_DB_URL", f"sqlite:///{path}")
