"""The whole build, stage by stage: the one composition of the rules that the
command line runs in one go and the Dagster assets run one stage per asset."""

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from campaign_pipeline.dataset import columns as C
from campaign_pipeline.dataset.dataset import PRIMARY_ORDER, campaign_dataset, exclusions, rows_without_access_key
from campaign_pipeline.dataset.decode import Subjects, decode_export, decode_subjects, quarantine_of_activities
from campaign_pipeline.dataset.enrich import enrich_subjects
from campaign_pipeline.dataset.settings import BuildSettings


def enriched_with_quarantine(
    activities: pl.DataFrame, settings: BuildSettings, suppressions: pl.DataFrame,
    subjects: Subjects | None = None,
) -> pl.DataFrame:
    """Stage two: every subject record under the valid activities, enriched or
    excluded, plus the quarantine rows of both stages, in the `ENRICHED` layout.
    `subjects` is decoded from `activities` unless already given (the stream)."""
    if subjects is None:
        subjects = decode_subjects(activities)
    enriched = enrich_subjects(activities, subjects, settings, suppressions)
    quarantine = pl.concat([quarantine_of_activities(activities), subjects.quarantine])
    return pl.concat([quarantine, enriched], how="diagonal").select(C.ENRICHED.keys())


def segment_rows(enriched: pl.DataFrame, segment: str) -> pl.DataFrame:
    """The enriched records of one segment (quarantine rows have none)."""
    return enriched.filter(pl.col("segment") == segment)


@dataclass
class BuildResult:
    enriched: pl.DataFrame
    datasets: dict[str, pl.DataFrame] = field(default_factory=dict)
    exclusions: pl.DataFrame | None = None

    def dataset(self) -> pl.DataFrame:
        """All selected segments in one frame, in the contract's row order
        (organization first, then segment)."""
        return pl.concat([self.datasets[s] for s in C.SEGMENTS if s in self.datasets]).sort(
            PRIMARY_ORDER, maintain_order=True
        )

    def rows_without_access_key(self) -> int:
        return sum(rows_without_access_key(dataset) for dataset in self.datasets.values())

    def summary(self) -> dict:
        """The dry-run summary: rows per selected segment (zeros included) and
        excluded records per reason that occurred."""
        reasons = self.exclusions.get_column("reason").value_counts(sort=True)
        return {
            "rows": {s: self.datasets[s].height for s in C.SEGMENTS if s in self.datasets},
            "exclusions": {
                reason: count
                for reason, count in sorted(reasons.iter_rows(), key=lambda pair: C.REASONS.index(pair[0]))
            },
        }


def enrich_export(lines: Iterable[bytes], settings: BuildSettings, suppressions: pl.DataFrame) -> pl.DataFrame:
    """Both stages over a stream of export lines, without holding their raw JSON."""
    activities, subjects = decode_export(lines, settings.job_ids)
    return enriched_with_quarantine(activities, settings, suppressions, subjects)


def build(lines: Iterable[bytes], settings: BuildSettings, suppressions: pl.DataFrame) -> BuildResult:
    """The whole offline build (no access keys are generated from an export)."""
    return finish(enrich_export(lines, settings, suppressions), settings)


def finish(enriched: pl.DataFrame, settings: BuildSettings) -> BuildResult:
    return BuildResult(
        enriched=enriched,
        datasets={s: campaign_dataset(enriched, s) for s in settings.segments},
        exclusions=exclusions(enriched),
    )
