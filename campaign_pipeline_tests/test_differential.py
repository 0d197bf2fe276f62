"""The columnar build and the independent row-by-row reference (benchmarks/rowwise.py)
give the same bytes on the messy bundled sample, under several settings."""

import importlib.util
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("name", SETTINGS)
def test_core_and_reference_agree_on_the_sample(name, rowwise):
    options = {"segments": ("buyer", "non_buyer"), "job_ids": None, "groups": None,
               "contact_sources": None, "suppress_paths": [], "region": "FI", **SETTINGS[name]}
    core_dataset, core_exclusions = build_with_core(str(SAMPLE_EXPORT), **options)
    ref_dataset, ref_exclusions = rowwise.build(str(SAMPLE_EXPORT), **options)
    assert core_dataset.count(b"\n") > 1, "the sample should give rows"
    assert core_dataset == ref_dataset
    assert core_exclusions == ref_exclusions
