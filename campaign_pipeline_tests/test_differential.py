"""The columnar build and the independent row-by-row reference (benchmarks/rowwise.py)
give the same bytes on the messy bundled sample, under several settings."""

import importlib.util
from pathlib import Path

import pytest

from campaign_pipeline.dataset.suppressions import suppression_entries
from campaign_pipeline.sample import SAMPLE_EXPORT, SAMPLE_SUPPRESSIONS
from campaign_pipeline_tests.dataset.test_contract_cases import build_with_core

ROWWISE = Path(__file__).resolve().parents[1] / "benchmarks" / "rowwise.py"


@pytest.fixture(scope="module")
def rowwise():
    spec = importlib.util.spec_from_file_location("rowwise_reference", ROWWISE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SETTINGS = {
    "both": {},
    "buyers, suppressed": {"segments": ("buyer",), "suppress_paths": [str(SAMPLE_SUPPRESSIONS)]},
    "non-buyers in 3A or Staff": {"segments": ("non_buyer",), "groups": ["3A", "Staff"]},
    "deliveries only, SE region": {"contact_sources": ["delivery"], "region": "SE"},
}

# The sample's suppressions spread over its organizations and one it does not
# have, as the campaign database holds them: each suppresses in one organization only.
_ORGANIZATIONS = ["org-1357265fe2eaf911", "org-8ba5a7ac0db541ce", "org-ca31576a815fb2dd", "org-absent"]
_ENTRIES = suppression_entries(SAMPLE_SUPPRESSIONS.read_text(encoding="utf-8"))
SCOPED = [(_ORGANIZATIONS[i % len(_ORGANIZATIONS)], entry) for i, entry in enumerate(_ENTRIES)]
SETTINGS["suppressed per organization"] = {"scoped_suppressions": SCOPED}


@pytest.mark.parametrize("name", SETTINGS)
def test_core_and_reference_agree_on_the_sample(name, rowwise):
    options = {"segments": ("buyer", "non_buyer"), "job_ids": None, "groups": None,
               "contact_sources": None, "suppress_paths": [], "region": "FI", **SETTINGS[name]}
    core_dataset, core_exclusions = build_with_core(str(SAMPLE_EXPORT), **options)
    ref_dataset, ref_exclusions = rowwise.build(str(SAMPLE_EXPORT), **options)
    assert core_dataset.count(b"\n") > 1, "the sample should give rows"
    assert core_dataset == ref_dataset
    assert core_exclusions == ref_exclusions


def test_a_suppression_of_one_organization_leaves_the_others_alone():
    """Scoped suppressions exclude fewer records than the same numbers for every organization."""
    options = {"segments": ("buyer", "non_buyer"), "job_ids": None, "groups": None,
               "contact_sources": None, "region": "FI"}
    everywhere = build_with_core(str(SAMPLE_EXPORT), suppress_paths=[str(SAMPLE_SUPPRESSIONS)], **options)[1]
    scoped = build_with_core(str(SAMPLE_EXPORT), suppress_paths=[], scoped_suppressions=SCOPED, **options)[1]
    assert 0 < scoped.count(b",suppressed,") < everywhere.count(b",suppressed,")
