from datetime import datetime, timezone

from dagster import build_schedule_context

from campaign_pipeline.definitions import defs


def test_the_daily_schedule_builds_the_whole_graph_for_its_own_day():
    schedule = defs.resolve_schedule_def("daily_dataset_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2026-11-23"]
    job = defs.resolve_job_def(schedule.job_name)
    assert len(job.asset_layer.asset_graph.get_all_asset_keys()) == 10  # with checked_dataset/*
