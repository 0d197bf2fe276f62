"""The published schemas as Dagster column schemas, so the UI's asset page shows
each column's type, meaning and constraints.

Built from the JSON Schema documents, so both say the same thing about a column.
"""

from dagster import TableColumn, TableColumnConstraints, TableSchema

from campaign_pipeline.contracts.json_schema import json_schema


def table_schema(model) -> TableSchema:
    properties = json_schema(model)["items"]["properties"]
    return TableSchema(columns=[_column(name, spec) for name, spec in properties.items()])


def _column(name: str, spec: dict) -> TableColumn:
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    other = []
    if "enum" in spec:
        other.append("one of: " + ", ".join(repr(v) for v in spec["enum"]))
    if "pattern" in spec:
        other.append(f"matches {spec['pattern']}")
    if "minLength" in spec:
        other.append(f"at least {spec['minLength']} character")
    if "minimum" in spec:
        other.append(f">= {spec['minimum']}")
    return TableColumn(
        name=name,
        type=types[0],
        description=spec.get("description"),
        constraints=TableColumnConstraints(nullable="null" in types, other=other),
    )
