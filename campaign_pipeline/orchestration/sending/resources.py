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

    def read_existing(self, read):
        """`read(engine)` on the database if there is one yet (sensors: nothing is
        created), else None."""
        engine = self.existing_engine()
        if engine is None:
            return None
        try:
            return read(engine)
        finally:
            engine.dispose()

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


# The variables `campaign-cli dispatch` reads to choose and reach its provider
# (providers/select.py, twilio.py, sns.py), one field each.
PROVIDER_VARIABLES = (
    "SMS_PROVIDER", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET",
    "TWILIO_API_BASE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL",
)


class SmsProvider(ConfigurableResource):
    """The SMS provider of `campaign_sends`, chosen as the command line chooses it
    (SMS_PROVIDER: proof by default, twilio, aws-sns) from the same variables, one
    field each; `provider_resource_from_env` fills them with EnvVar so secrets show
    in the UI as variable names."""

    sms_provider: str = "proof"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_key: str = ""
    twilio_api_secret: str = ""
    twilio_api_base: str = ""
    aws_region: str = ""
    aws_default_region: str = ""
    aws_profile: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""
    aws_session_token: str = ""
    aws_endpoint_url_sns: str = ""
    aws_endpoint_url: str = ""

    def variables(self) -> dict[str, str]:
        return {name: value for name in PROVIDER_VARIABLES if (value := getattr(self, name.lower()))}

    def open(self):
        """A new Provider (the caller closes it); ConfigurationError as for the command."""
        from campaign_pipeline.sending.providers import provider_from_env

        return provider_from_env(self.variables())


def provider_resource_from_env(env: Mapping[str, str]) -> SmsProvider:
    """Every provider variable set in `env` as an EnvVar (read when a run starts)."""
    return SmsProvider(**{name.lower(): EnvVar(name) for name in PROVIDER_VARIABLES if (env.get(name) or "").strip()})
