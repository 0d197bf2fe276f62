"""The contract's executable cases (contract_cases.py) against the core library."""

import polars as pl
import pytest

from campaign_pipeline.dataset import formats
from campaign_pipeline.dataset.pipeline import build
from campaign_pipeline.dataset.settings import BuildSettings
from campaign_pipeline.files.export_file import iter_export_lines
from campaign_pipeline.dataset.suppressions import SCHEMA, parse_suppression_entries
from campaign_pipeline.files.suppression_file import load_suppressions
from campaign_pipeline_tests.contract_cases import CASES, run_case


def build_with_core(export_path, *, segments, job_ids, groups, contact_sources, suppress_paths, region,
                    scoped_suppressions=()):
    """`scoped_suppressions`: (organization_id, phone as written) pairs, as the
    campaign database holds them, beside the files' suppressions of every organization."""
    settings = BuildSettings(
        region=region,
        segments=tuple(segments),
        job_ids=tuple(job_ids) if job_ids else None,
        groups=tuple(groups) if groups else None,
        contact_sources=tuple(contact_sources) if contact_sources else None,
    )
    organizations = [organization for organization, _ in scoped_suppressions]
    scoped = pl.DataFrame(
        {"organization_id": organizations,
         "phone": parse_suppression_entries([phone for _, phone in scoped_suppressions], region)},
        schema=SCHEMA,
    ).drop_nulls()
    suppressions = pl.concat([load_suppressions(suppress_paths, region), scoped])
    result = build(iter_export_lines(export_path), settings, suppressions)
    return formats.to_csv(result.dataset()), formats.to_csv(result.exclusions)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_contract_case(case, tmp_path):
    run_case(case, build_with_core, tmp_path)
