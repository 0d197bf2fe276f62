"""Polars frames to files, never pickles: CSV, JSON or Parquet under one root.

Layout, one folder per asset and one file per day: `<root>/<asset>/<day>.<ext>`,
and for an asset keyed `<asset>/<name>` (the per-segment datasets)
`<root>/<asset>/<day>/<name>.<ext>`, so the dataset for day D and segment S is
`<root>/campaign_dataset/D/S.csv` and the exclusions `<root>/exclusions/D.csv`.
Files are written whole or not at all (storage.write_atomically) and the bytes
are those of dataset/formats.py, the same the command line writes.
"""

from typing import Any

import polars as pl
from dagster import ConfigurableIOManagerFactory, InputContext, OutputContext, ResourceDependency, UPathIOManager
from dagster_aws.s3 import S3Resource
from upath import UPath

from campaign_pipeline.dataset import columns as C
from campaign_pipeline.dataset import formats
from campaign_pipeline.files.storage import S3_SCHEME, read_bytes, split_s3_uri, write_atomically

# Definition metadata naming what an asset's file is for; the format follows.
FILE_ROLE = "file_role"
DATASET, EXCLUSIONS, INTERMEDIATE = "dataset", "exclusions", "intermediate"


class PolarsFileIOManager(UPathIOManager):
    def __init__(self, base_path: UPath, dataset_format: str = "csv", s3_client: Any = None) -> None:
        super().__init__(base_path=base_path)
        if dataset_format not in formats.FORMATS:
            raise ValueError(f"dataset_format must be one of {', '.join(formats.FORMATS)}")
        self.dataset_format = dataset_format
        self.s3_client = s3_client

    # On S3 there are no folders to make or files to move; storage.py talks to
    # it through boto3, so UPath's own filesystem layer (s3fs) is never needed.
    def _on_s3(self, path: UPath) -> bool:
        return str(path).startswith(S3_SCHEME)

    def make_directory(self, path: UPath) -> None:
        if not self._on_s3(path):
            super().make_directory(path)

    def _handle_transition_to_partitioned_asset(self, context: OutputContext, path: UPath) -> None:
        if not self._on_s3(path):
            super()._handle_transition_to_partitioned_asset(context, path)

    def path_exists(self, path: UPath) -> bool:
        if not self._on_s3(path):
            return super().path_exists(path)
        bucket, key = split_s3_uri(str(path))
        return "Contents" in self.s3_client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)

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
        write_atomically({str(path): formats.encode(obj, self.file_format(context))}, self.s3_client)

    def load_from_path(self, context: InputContext, path: UPath) -> pl.DataFrame:
        # Text formats do not carry types: the contract's layouts do.
        schema = {DATASET: C.DATASET, EXCLUSIONS: C.EXCLUSIONS}.get(self.file_role(context))
        return formats.decode(read_bytes(str(path), self.s3_client), self.file_format(context), schema)

    def get_metadata(self, context: OutputContext, obj: Any) -> dict:
        return {"format": self.file_format(context)}


class PolarsFileIOManagerFactory(ConfigurableIOManagerFactory):
    """Where outputs go (`CAMPAIGN_OUTPUT_URI`: a folder or s3://bucket/prefix) and
    the datasets' format. S3 goes through dagster-aws' S3Resource, so credentials,
    region and endpoint come from the standard AWS environment."""

    base_uri: str
    dataset_format: str = "csv"
    s3: ResourceDependency[S3Resource]

    def create_io_manager(self, context) -> PolarsFileIOManager:
        s3_client = self.s3.get_client() if self.base_uri.startswith(S3_SCHEME) else None
        return PolarsFileIOManager(UPath(self.base_uri), self.dataset_format, s3_client)
