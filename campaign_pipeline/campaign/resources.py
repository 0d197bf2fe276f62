"""Resources of the campaign domain: where the portal is read from, and what
a build is asked for."""

from collections.abc import Iterable

import polars as pl
from dagster import ConfigurableResource

from campaign_pipeline.core.settings import BuildSettings


class PortalSource(ConfigurableResource):
    """Where the day's portal snapshot comes from."""

    def fetch_lines(self, job_ids: tuple[str, ...] | None) -> Iterable[bytes]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def is_live(self) -> bool:
        """A live source shows today's data only, so a past day cannot be fetched."""
        return False

    def access_keys(self, subject_ids: list[str]) -> tuple[dict[str, str], dict[str, int]] | None:
        """Generated keys and permanent failures, or None where keys are not generated."""
        return None


class PortalExportSource(PortalSource):
    """A portal export file (JSON Lines of jobs, .gz or not): offline, no network."""

    path: str

    def fetch_lines(self, job_ids: tuple[str, ...] | None) -> Iterable[bytes]:
        from campaign_pipeline.sources.export_file import iter_export_lines

        return iter_export_lines(self.path)

    def describe(self) -> str:
        return f"export file {self.path}"


class PortalApiSource(PortalSource):
    """The live portal API (portal-api.yaml); the token comes from the
    environment (`EnvVar("PORTAL_TOKEN")`), never from code or config files."""

    base_url: str
    token: str
    concurrency: int = 16
    requests_per_second: float | None = None
    max_attempts: int = 6

    def _portal(self):
        from campaign_pipeline.sources.portal import LivePortal

        return LivePortal(self.base_url, self.token, self.concurrency, self.requests_per_second, self.max_attempts)

    def fetch_lines(self, job_ids: tuple[str, ...] | None) -> Iterable[bytes]:
        return self._portal().fetch_lines(job_ids)

    def describe(self) -> str:
        return f"portal {self.base_url}"

    def is_live(self) -> bool:
        return True

    def access_keys(self, subject_ids: list[str]) -> tuple[dict[str, str], dict[str, int]]:
        return self._portal().access_keys(subject_ids)


class CampaignSettings(ConfigurableResource):
    """The build's settings (contract, "Inputs"); `None` means a filter is not asked for."""

    region: str = "FI"
    job_ids: list[str] | None = None
    groups: list[str] | None = None
    contact_sources: list[str] | None = None
    suppress_files: list[str] = []

    def build_settings(self) -> BuildSettings:
        return BuildSettings(
            region=self.region,
            job_ids=_tuple(self.job_ids),
            groups=_tuple(self.groups),
            contact_sources=_tuple(self.contact_sources),
        )

    def suppressed_numbers(self) -> pl.Series:
        from campaign_pipeline.sources.suppression_file import load_suppressions

        return load_suppressions(self.suppress_files, self.build_settings().region)


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None
