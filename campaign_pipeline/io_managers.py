"""Polars frames to files, never pickles: CSV, JSON or Parquet under one root.

Layout, one folder per asset and one file per day: `<root>/<asset>/<day>.<ext>`,
and for an asset keyed `<asset>/<name>` (the per-segment datasets)
`<root>/<asset>/<day>/<name>.<ext>`, so the dataset for day D and segment S is
`<root>/campaign_dataset/D/S.csv` and the exclusions `<root>/exclusions/D.csv`.
Files are written whole or not at all (storage.write_atomically) and the bytes
are those of core/formats.py, the same the command line writes.
"""

from typing import Any

import polars as pl
from dagster import ConfigurableIOManagerFactory, InputContext, OutputContext, UPathIOManager
from upath import UPath

from campaign_pipeline.core import columns as C
from campaign_pipeline.core import formats
from campaign_pipeline.storage import read_bytes, write_atomically

# Definition metadata naming what an asset's file is for; the format follows.
FILE_ROLE = "file_role"
DATASET, EXCLUSIONS, INTERMEDIATE = "dataset", "exclusions", "intermediate"


class PolarsFileIOManager(UPathIOManager):
    def __init__(self, base_path: UPath, dataset_format: str = "csv") -> None:
        super().__init__(base_path=base_path)
        if dataset_format not in formats.FORMATS:
            raise ValueError(f"dataset_format must be one of {', '.join(formats.FORMATS)}")
        self.dataset_format = dataset_format

    def file_role(self, context: InputContext | OutputContext) -> str:
        output = context if isinstance(context, OutputContext) else context.upstream_output
        return (output.definition_metadata or {}).get(FILE_ROLE, INTERMEDIATE)

    def file_format(self, context: InputContext | OutputContext) -> str:
        role = self.file_role(context)
        return {DATASET: self.dataset_format, EXCLUSIONS: "csv"}.get(role, "parquet")

    def get_path_for_partition(
        self, context: InputContext | OutputContext, path: UPath, partition: str
    ) -> UPath:
        first, *rest = context.asset_key.path
        folder = self.make_safe_partition_path(self._base_path / first, partition)
        name = folder.joinpath(*rest) if rest else folder
        return name.with_suffix(name.suffix + "." + self.file_format(context))

    def dump_to_path(self, context: OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        write_atomically({str(path): formats.encode(obj, self.file_format(context))})

    def load_from_path(self, context: InputContext, path: UPath) -> pl.DataFrame:
        # Text formats do not carry types: the contract's layouts do.
        schema = {DATASET: C.DATASET, EXCLUSIONS: C.EXCLUSIONS}.get(self.file_role(context))
        return formats.decode(read_bytes(str(path)), self.file_format(context), schema)

    def get_metadata(self, context: OutputContext, obj: Any) -> dict:
        return {"format": self.file_format(context)}


class PolarsFileIOManagerFactory(ConfigurableIOManagerFactory):
    """Where outputs go (`CAMPAIGN_OUTPUT_URI`) and the datasets' format."""

    base_uri: str
    dataset_format: str = "csv"

    def create_io_manager(self, context) -> PolarsFileIOManager:
        return PolarsFileIOManager(UPath(self.base_uri), self.dataset_format)
