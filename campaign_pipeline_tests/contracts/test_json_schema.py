import json

import pytest

from campaign_pipeline.contracts.json_schema import FOLDER, PUBLISHED, render
from campaign_pipeline.core import columns as C


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_json_schema_matches_the_pandera_schema(name):
    assert (FOLDER / f"{name}.schema.json").read_text(encoding="utf-8") == render(PUBLISHED[name]), (
        "regenerate with: python -m campaign_pipeline.contracts.json_schema"
    )


def test_json_schema_lists_the_contracts_columns_in_order():
    dataset = json.loads((FOLDER / "campaign_dataset.schema.json").read_text())
    assert list(dataset["items"]["properties"]) == list(C.DATASET)
    subject_count = dataset["items"]["properties"]["subject_count"]
    assert subject_count["type"] == "integer" and subject_count["minimum"] == 1
    exclusions = json.loads((FOLDER / "exclusions.schema.json").read_text())
    assert exclusions["items"]["properties"]["reason"]["enum"] == list(C.REASONS)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_published_column_says_what_it_holds(name):
    document = json.loads((FOLDER / f"{name}.schema.json").read_text())
    assert document["description"]
    described = {column: spec.get("description", "") for column, spec in document["items"]["properties"].items()}
    assert [column for column, text in described.items() if len(text) < 10] == []
