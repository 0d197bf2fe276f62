"""JSON Schema files for downstream tools, generated from the Pandera schemas.

`python -m campaign_pipeline.contracts.json_schema` rewrites the files in
json_schema/; a test fails when they no longer match the schemas.
"""

import json
import sys
from pathlib import Path

import polars as pl

from campaign_pipeline.contracts.schemas import CampaignDataset, Exclusions

FOLDER = Path(__file__).parent / "json_schema"
PUBLISHED = {"campaign_dataset": CampaignDataset, "exclusions": Exclusions}


def json_schema(model) -> dict:
    """An array of objects whose properties are the model's columns, in order."""
    schema = model.to_schema()
    properties = {name: _column_schema(column) for name, column in schema.columns.items()}
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": model.__name__,
        "description": " ".join((model.__doc__ or "").split()),
        "type": "array",
        "items": {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        },
    }
    if schema.unique:
        document["x-unique"] = list(schema.unique)
    return document


def _column_schema(column) -> dict:
    is_integer = column.dtype.type in (pl.Int64, pl.Int32, pl.UInt32)
    out: dict = {"type": "integer" if is_integer else "string"}
    if column.description:
        out["description"] = column.description
    for check in column.checks:
        stats = check.statistics
        if check.name == "isin":
            out["enum"] = list(stats["allowed_values"])
        elif check.name == "str_matches":
            out["pattern"] = stats["pattern"]
        elif check.name == "str_length" and stats.get("min_value") is not None:
            out["minLength"] = stats["min_value"]
        elif check.name == "greater_than_or_equal_to":
            out["minimum"] = stats["min_value"]
    if column.nullable:
        out["type"] = [out["type"], "null"]
    return out


def render(model) -> str:
    return json.dumps(json_schema(model), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    FOLDER.mkdir(exist_ok=True)
    for name, model in PUBLISHED.items():
        (FOLDER / f"{name}.schema.json").write_text(render(model), encoding="utf-8")
        print(FOLDER / f"{name}.schema.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
