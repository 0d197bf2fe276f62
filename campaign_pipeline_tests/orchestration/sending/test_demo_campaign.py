"""`make run`'s demo campaign: after the day's build, a proof dispatch of one campaign
of the first organization; run twice, the campaign is reused, never piled up."""

import csv
import json
from pathlib import Path

from dagster import AssetKey, DagsterInstance
from sqlalchemy import create_engine, select

from campaign_pipeline.sending.db.models import campaigns, messages
from campaign_pipeline.sending.demo_campaign import DEMO_NAME
from campaign_pipeline_tests.orchestration.datasets.test_assets import DAY, portal_export  # noqa: F401 (a fixture)
from campaign_pipeline_tests.orchestration.datasets.test_run_day import run_day


def test_make_run_twice_reuses_one_demo_campaign(portal_export, tmp_path):  # noqa: F811
    first = run_day(tmp_path, portal_export)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stderr == ""
    assert "Demo campaign 1 of organization org-1 (created), dispatched by campaign_sends with the proof provider" in first.stdout
    assert "1 handed over, 0 deferred, 0 skipped; campaign sent." in first.stdout
    summary = next(line.split(": ", 1)[1] for line in first.stdout.splitlines() if "latest run summary" in line)
    assert summary.startswith("out/campaigns/1/") and summary.endswith("/summary.md")
    assert (tmp_path / summary).is_file()
    document = json.loads((tmp_path / summary).with_name("summary.json").read_text())
    assert document["provider"] == "proof" and document["run"]["handed_over"] == 1
    export = tmp_path / "out" / "campaigns" / "1" / "messages.csv"
    assert "out/campaigns/1/messages.csv" in first.stdout
    [row] = list(csv.DictReader(export.open()))
    assert row["status"] == "delivered" and row["organization_id"] == "org-1"

    second = run_day(tmp_path, portal_export)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Demo campaign 1 of organization org-1 (reused)" in second.stdout
    assert "0 handed over" in second.stdout and f"latest run summary: {summary}" in second.stdout
    engine = create_engine(f"sqlite:///{tmp_path / '.state' / 'campaign.db'}")
    with engine.connect() as connection:
        assert connection.execute(select(campaigns.c.id, campaigns.c.name, campaigns.c.status)).all() == [
            (1, DEMO_NAME, "sent")]
        assert connection.execute(select(messages.c.attempts)).scalars().all() == [1]  # sent once, not twice
    engine.dispose()
    # Both passes are runs of campaign_sends in the instance `make dev` shows.
    with DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        events = instance.fetch_materializations(AssetKey("campaign_sends"), limit=10).records
        assert [(e.partition_key, e.asset_materialization.metadata["handed_over"].value) for e in events] == [
            ("1", 0), ("1", 1)]
