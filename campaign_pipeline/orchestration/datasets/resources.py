"""Resources of the dataset domain: where the portal is read from, and what
a build is asked for; and the reading of the environment variables that choose
them, where a bad value must not stop the definitions from loading: the runs
that need it fail instead, with one line naming the variable."""

from collections.abc import Iterable, Mapping

import polars as pl
from dagster import ConfigurableIOManagerFactory, ConfigurableResource, EnvVar, Failure, IOManager

from campaign_pipeline.dataset import formats
from campaign_pipeline.common.errors import InputError
from campaign_pipeline.dataset.settings import BuildSettings
from campaign_pipeline.common.values import checked, header_token, http_url, positive_int, positive_number
from campaign_pipeline.dataset import defaults as build_defaults
from campaign_pipeline.portal import defaults as portal_defaults


class PortalSource(ConfigurableResource):
    """Where the day's portal snapshot comes from."""

    def fetch_lines(self, job_ids: tuple[str, ...] | None, progress=None) -> Iterable[bytes]:
        """The export lines; `progress` (core.logs.Progress) follows the read."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def is_live(self) -> bool:
        """A live source shows today's data only, so a past day cannot be fetched."""
        return False

    def access_keys(self, subject_ids: list[str], progress=None) -> tuple[dict[str, str], dict[str, int]] | None:
        """Generated keys and permanent failures, or None where keys are not generated."""
        return None

    def export_file(self) -> str | None:
        """The export file read, if the source is one."""
        return None


class PortalExportSource(PortalSource):
    """A portal export file (JSON Lines of jobs, .gz or not): offline, no network."""

    path: str

    def fetch_lines(self, job_ids: tuple[str, ...] | None, progress=None) -> Iterable[bytes]:
        from campaign_pipeline.files.export_file import iter_export_lines

        return iter_export_lines(self.path, progress)

    def describe(self) -> str:
        return f"export file {self.path}"

    def export_file(self) -> str | None:
        return self.path


class PortalApiSource(PortalSource):
    """The live portal API (portal-api.yaml); the token comes from the
    environment (`EnvVar("PORTAL_TOKEN")`), never from code or config files."""

    base_url: str
    token: str
    concurrency: int = portal_defaults.CONCURRENCY
    requests_per_second: float | None = None
    max_attempts: int = portal_defaults.MAX_ATTEMPTS

    def _portal(self):
        from campaign_pipeline.portal.live import LivePortal

        # The launchpad can set these too, past the checks of portal_from_env.
        checked("portal base_url", http_url, self.base_url)
        checked("PORTAL_TOKEN", header_token, self.token)
        checked("portal concurrency", positive_int, self.concurrency)
        if self.requests_per_second is not None:
            checked("portal requests_per_second", positive_number, self.requests_per_second)
        return LivePortal(self.base_url, self.token, self.concurrency, self.requests_per_second, self.max_attempts)

    def fetch_lines(self, job_ids: tuple[str, ...] | None, progress=None) -> Iterable[bytes]:
        return self._portal().fetch_lines(job_ids, progress=progress)

    def describe(self) -> str:
        return f"portal {self.base_url}"

    def is_live(self) -> bool:
        return True

    def access_keys(self, subject_ids: list[str], progress=None) -> tuple[dict[str, str], dict[str, int]]:
        return self._portal().access_keys(subject_ids, progress=progress)


class MisconfiguredPortal(PortalSource):
    """Stands in for a portal whose environment variables are wrong, so that
    the definitions still load; reading it fails the run with `problem`."""

    problem: str

    def fetch_lines(self, job_ids: tuple[str, ...] | None, progress=None) -> Iterable[bytes]:
        raise InputError(self.problem)

    def describe(self) -> str:
        return f"misconfigured portal ({self.problem})"

    def access_keys(self, subject_ids: list[str], progress=None) -> tuple[dict[str, str], dict[str, int]]:
        raise InputError(self.problem)


def portal_from_env(env: Mapping[str, str], default_export: str) -> PortalSource:
    """PORTAL_URL (+ PORTAL_TOKEN, PORTAL_CONCURRENCY, PORTAL_RATE_LIMIT): the
    live portal; otherwise PORTAL_EXPORT, or `default_export`."""
    if not env.get("PORTAL_URL"):
        return PortalExportSource(path=env.get("PORTAL_EXPORT") or default_export)
    try:
        base_url = checked("PORTAL_URL", http_url, env["PORTAL_URL"])
        concurrency = checked("PORTAL_CONCURRENCY", positive_int, env.get("PORTAL_CONCURRENCY") or str(portal_defaults.CONCURRENCY))
        rate = env.get("PORTAL_RATE_LIMIT")
        rate = checked("PORTAL_RATE_LIMIT", positive_number, rate) if rate else None
    except InputError as error:
        return MisconfiguredPortal(problem=str(error))
    return PortalApiSource(
        base_url=base_url, token=EnvVar("PORTAL_TOKEN"), concurrency=concurrency, requests_per_second=rate
    )


def dataset_format_problem(env: Mapping[str, str]) -> str | None:
    """What is wrong with CAMPAIGN_DATASET_FORMAT, if anything."""
    value = env.get("CAMPAIGN_DATASET_FORMAT", "csv")
    if value in formats.FORMATS:
        return None
    return f"CAMPAIGN_DATASET_FORMAT: expected one of {', '.join(formats.FORMATS)}, got {value!r}"


class MisconfiguredIOManagerFactory(ConfigurableIOManagerFactory):
    """Stands in for the IO manager when its environment variables are wrong:
    the definitions load, and the first output of a run fails with `problem`
    (a failure raised while the resource is made would not read as clearly)."""

    problem: str

    def create_io_manager(self, context) -> IOManager:
        return _FailingIOManager(self.problem)


class _FailingIOManager(IOManager):
    def __init__(self, problem: str) -> None:
        self.problem = problem

    def handle_output(self, context, obj) -> None:
        raise Failure(description=self.problem)

    def load_input(self, context):
        raise Failure(description=self.problem)


class DatasetBuildSettings(ConfigurableResource):
    """The build's settings (contract, "Inputs"); `None` means a filter is not asked for."""

    region: str = build_defaults.REGION
    job_ids: list[str] | None = None
    groups: list[str] | None = None
    contact_sources: list[str] | None = None
    suppress_files: list[str] = []
    # no_sudden_change: the largest share by which an organization's rows may
    # fall or grow from one day to the next (0.5: half).
    max_daily_change: float = 0.5

    def build_settings(self) -> BuildSettings:
        try:
            return BuildSettings(
                region=self.region,
                job_ids=_tuple(self.job_ids),
                groups=_tuple(self.groups),
                contact_sources=_tuple(self.contact_sources),
            )
        except ValueError as error:  # a launchpad setting: the run fails with one line
            raise InputError(f"campaign settings: {error}") from None

    def suppression_list(self) -> tuple[pl.DataFrame, int]:
        """(the files' suppressions, of every organization; how many entries did not parse)."""
        from campaign_pipeline.files.suppression_file import load_suppression_list

        return load_suppression_list(self.suppress_files, self.build_settings().region)


def dataset_build_from_env(env: Mapping[str, str]) -> DatasetBuildSettings:
    """CAMPAIGN_SUPPRESS: suppression files, separated by the OS path separator."""
    import os

    suppress = env.get("CAMPAIGN_SUPPRESS", "")
    return DatasetBuildSettings(suppress_files=[p for p in suppress.split(os.pathsep) if p])


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None
