"""What a build is asked for: the contract's "Settings" input."""

from dataclasses import dataclass

from campaign_pipeline.dataset.columns import CONTACT_SOURCES, SEGMENTS
from campaign_pipeline.dataset.defaults import REGION
from campaign_pipeline.dataset.phones import check_region


@dataclass(frozen=True)
class BuildSettings:
    """`None` for a filter means "not asked for", which is not the same as empty."""

    region: str = REGION
    segments: tuple[str, ...] = SEGMENTS
    job_ids: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    contact_sources: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # One place turns "se" into "SE" and refuses an unknown region, for the
        # command line and the assets alike.
        object.__setattr__(self, "region", check_region(self.region))
        unknown = set(self.segments) - set(SEGMENTS)
        if unknown or not self.segments:
            raise ValueError(f"segments must be among {', '.join(SEGMENTS)}")
        if self.contact_sources is not None and set(self.contact_sources) - set(CONTACT_SOURCES):
            raise ValueError(f"contact sources must be among {', '.join(CONTACT_SOURCES)}")
