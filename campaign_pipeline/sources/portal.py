"""The live portal as a source: the HTTP client's calls in the shape the build
needs, with its failures turned into a failed run (exit 1)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from campaign_pipeline.core.errors import RunFailed


@dataclass(frozen=True)
class LivePortal:
    base_url: str
    token: str = field(repr=False)
    concurrency: int = 16
    requests_per_second: float | None = None
    max_attempts: int = 6

    def _options(self) -> dict:
        return {
            "concurrency": self.concurrency,
            "requests_per_second": self.requests_per_second,
            "max_attempts": self.max_attempts,
        }

    def fetch_lines(self, job_ids: Sequence[str] | None, stats: dict | None = None, progress=None) -> list[bytes]:
        from campaign_pipeline.portal import PortalError, fetch_export_lines_sync

        try:
            return fetch_export_lines_sync(
                self.base_url, self.token, job_ids, stats=stats, progress=progress, **self._options()
            )
        except PortalError as error:
            raise RunFailed(f"portal {self.base_url}: {error}") from None

    def access_keys(
        self, subject_ids: list[str], stats: dict | None = None, progress=None
    ) -> tuple[dict[str, str], dict[str, int]]:
        """(generated keys, HTTP status of permanent failures) per subject id."""
        from campaign_pipeline.portal import PortalError, generate_access_keys_sync

        if not subject_ids:
            return {}, {}
        try:
            answers = generate_access_keys_sync(
                self.base_url, self.token, subject_ids, stats=stats, progress=progress, **self._options()
            )
        except PortalError as error:
            raise RunFailed(f"portal {self.base_url}: {error}") from None
        keys = {sid: answer for sid, answer in answers.items() if isinstance(answer, str)}
        failures = {sid: answer.status for sid, answer in answers.items() if not isinstance(answer, str)}
        return keys, failures
