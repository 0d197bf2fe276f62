"""The day's checked datasets, loaded into the campaign database.

`checked_dataset/<segment>` is downstream of `campaign_dataset/<segment>` (same
daily partition) and runs only when that dataset's blocking checks passed, so
`campaign create --day D` (which reads only what is loaded here) never takes a
day whose checks failed. It reads the STORED dataset file, as a manager would.
"""

import time
from datetime import date

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, MaterializeResult, asset

from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.dataset import columns as C
from campaign_pipeline.orchestration.datasets.assets import OWNER, _as_failure, _materialization_metadata
from campaign_pipeline.orchestration.datasets.partitions import daily_partitions
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase

GROUP = "checked_datasets"


def _checked_dataset_asset(segment: str):
    upstream = AssetKey(["campaign_dataset", segment])

    @asset(
        key=AssetKey(["checked_dataset", segment]),
        ins={"dataset": AssetIn(upstream)},
        partitions_def=daily_partitions,
        group_name=GROUP,
        kinds={"sqlalchemy"},
        owners=[OWNER],
        description=f"The day's {segment} dataset in the campaign database (dataset_days, dataset_rows), "
        "loaded only after the dataset's blocking checks passed: what `campaign-cli campaign create "
        f"--day D --segment {segment}` reads. Each load replaces that day and segment in one transaction.",
    )
    def _checked(context: AssetExecutionContext, dataset: pl.DataFrame,
                 campaign_database: CampaignDatabase) -> MaterializeResult:
        from campaign_pipeline.sending.dataset_days import load_day

        started = time.perf_counter()
        path = _materialization_metadata(context.instance, upstream, context.partition_key).get("path")
        with _as_failure():
            engine = campaign_database.engine()
            try:
                rows = load_day(engine, date.fromisoformat(context.partition_key), segment, dataset,
                                dataset_path=None if path is None else str(path), run_id=context.run.run_id)
            finally:
                engine.dispose()
        seconds = round(time.perf_counter() - started, 3)
        where = campaign_database.where()
        JsonLog(run_id=context.run.run_id).info(
            "dataset_loaded", segment=segment, day=context.partition_key, rows=rows, database=where, seconds=seconds)
        return MaterializeResult(metadata={"rows": rows, "database": where, "seconds": seconds})

    return _checked


checked_datasets = [_checked_dataset_asset(segment) for segment in C.SEGMENTS]
