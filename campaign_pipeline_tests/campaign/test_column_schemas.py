"""The Dagster UI shows the published outputs' columns with their meaning."""

import pytest
from dagster import AssetKey, TableSchema

from campaign_pipeline.contracts.json_schema import json_schema
from campaign_pipeline.contracts.schemas import CampaignDataset, Exclusions
from campaign_pipeline.definitions import defs

OUTPUTS = {
    AssetKey(["campaign_dataset", "buyer"]): CampaignDataset,
    AssetKey(["campaign_dataset", "non_buyer"]): CampaignDataset,
    AssetKey("exclusions"): Exclusions,
}


@pytest.mark.parametrize("key", list(OUTPUTS), ids=lambda key: key.to_user_string())
def test_output_assets_carry_their_column_schema(key):
    graph = defs.resolve_asset_graph()
    schema = graph.get(key).metadata["dagster/column_schema"]
    schema = schema if isinstance(schema, TableSchema) else schema.schema  # raw, or as a metadata value
    published = json_schema(OUTPUTS[key])["items"]["properties"]
    assert [(c.name, c.description) for c in schema.columns] == [
        (name, spec["description"]) for name, spec in published.items()]
    reason_or_segment = next(c for c in schema.columns if c.name == "segment")
    assert "'buyer'" in reason_or_segment.constraints.other[0]
    assert not any(c.constraints.nullable for c in schema.columns)
