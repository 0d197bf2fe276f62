"""The campaign database as a Dagster resource."""

from collections.abc import Iterable, Mapping

import polars as pl
from dagster import ConfigurableResource, EnvVar


class CampaignDatabase(ConfigurableResource):
    """The campaign database (sending.md, "The campaign database"): `url` is an
    SQLAlchemy URL; empty means the default SQLite file `.state/campaign.db`
    under the working folder, as for `campaign-cli`."""

    url: str = ""

    def _url(self) -> str | None:
        return self.url.strip() or None

    def engine(self):
        """An Engine on the migrated database, created when missing (writers only)."""
        from campaign_pipeline.sending.db.engine import open_database

        return open_database(self._url())

    def existing_engine(self):
        """An Engine on the database if there is one yet, else None (readers:
        nothing is created; a set URL that cannot be reached is RunFailed)."""
        from campaign_pipeline.sending.db.engine import existing_database

        return existing_database(self._url())

    def where(self) -> str:
        from campaign_pipeline.sending.db.engine import database_url, masked_url

        return masked_url(self._url() or database_url())

    def suppressions(self, organization_ids: Iterable[str]) -> tuple[pl.DataFrame, str | None]:
        """The stored suppressions of these organizations and of every one, and
        where they were read (None: no database yet, which is not created)."""
        from campaign_pipeline.sending.suppressions import stored_suppressions

        return stored_suppressions(organization_ids, self._url())


def campaign_database_from_env(env: Mapping[str, str]) -> CampaignDatabase:
    """CAMPAIGN_DB_URL through EnvVar (so the URL, which may hold a password,
    shows in the UI as the variable's name); unset, the default SQLite file.
    An EnvVar of an unset variable would fail every run, hence the branch."""
    if (env.get("CAMPAIGN_DB_URL") or "").strip():
        return CampaignDatabase(url=EnvVar("CAMPAIGN_DB_URL"))
    return CampaignDatabase()
