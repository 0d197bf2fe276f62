"""The contracts between the assets: Pandera schemas (polars backend) and the
JSON Schema files generated from them for downstream tools."""
