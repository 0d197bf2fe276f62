"""`campaign_sends_sensor` ticks against a real campaign database and a real Dagster
instance: one run request per due campaign, the same run key while the facts
are the same (the daemon launches a run key once), none while a pass of that
campaign is queued or running, none after a pass that left nothing due, and a
new key when deferred messages come due."""

from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterInstance, DagsterRunStatus, SensorResult, SkipReason, build_sensor_context
from sqlalchemy import update

from campaign_pipeline.definitions import defs
from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase
from campaign_pipeline.orchestration.sending.sends import campaign_sends_job, campaign_sends_sensor
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import campaigns as campaign_rows
from campaign_pipeline.sending.db.models import messages
from campaign_pipeline_tests.orchestration.sending.test_campaign_sends import (  # noqa: F401 (fixtures)
    PHONES, materialize_pass, output, scheduled_campaign,
)
from campaign_pipeline_tests.sending.campaign_fixtures import engine, write_dataset  # noqa: F401


def tick(instance, url):
    context = build_sensor_context(instance=instance, resources={"campaign_database": CampaignDatabase(url=url)})
    result = campaign_sends_sensor(context)
    if isinstance(result, SensorResult):  # what the daemon applies
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result.run_requests
    assert isinstance(result, SkipReason)
    return []


def queue_run(instance, partition: str) -> None:
    """A run of the job in progress for this partition (as after a launch, before the pass takes its lease)."""
    instance.create_run_for_job(defs.resolve_job_def(campaign_sends_job.name), status=DagsterRunStatus.STARTED,
                                tags={"dagster/partition": partition})


def test_ticks_never_launch_one_pass_twice(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    first = scheduled_campaign(engine, write_dataset)
    with DagsterInstance.ephemeral() as instance:
        [request] = tick(instance, campaign_db_url)
        assert request.partition_key == str(first) and request.run_key.startswith(f"campaign-{first}@")
        assert request.tags["campaign_pipeline/due"] == "scheduled"
        assert instance.get_dynamic_partitions(campaign_partitions.name) == [str(first)]
        # Same facts, same key: the daemon launches a run key once.
        assert [r.run_key for r in tick(instance, campaign_db_url)] == [request.run_key]
        # Launched, before its pass takes the lease: no second request, whatever the facts.
        queue_run(instance, str(first))
        assert tick(instance, campaign_db_url) == []
        # The pass ran and handed everything over: nothing is due any more.
        instance.delete_run(instance.get_runs()[0].run_id)
        assert materialize_pass(instance, campaign_db_url, first).success
        assert tick(instance, campaign_db_url) == []


def test_deferred_messages_come_due_under_a_new_key(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    campaign_id = scheduled_campaign(engine, write_dataset)
    now = datetime.now(UTC)
    with engine.begin() as connection:  # as a pass that deferred every message leaves it
        connection.execute(update(campaign_rows).values(status="sending", updated_at=now - timedelta(hours=2)))
        connection.execute(update(messages).values(status="deferred", not_before=now + timedelta(hours=1)))
    with DagsterInstance.ephemeral() as instance:
        assert tick(instance, campaign_db_url) == []  # nothing due yet
        with engine.begin() as connection:
            connection.execute(update(messages).where(messages.c.phone == PHONES[0])
                               .values(not_before=now - timedelta(minutes=5)))
        [request] = tick(instance, campaign_db_url)
        assert request.tags["campaign_pipeline/due"] == "deferred"
        assert [r.run_key for r in tick(instance, campaign_db_url)] == [request.run_key]
        with engine.begin() as connection:
            connection.execute(update(messages).where(messages.c.phone == PHONES[1])
                               .values(not_before=now - timedelta(minutes=1)))
        [later] = tick(instance, campaign_db_url)
        assert later.run_key != request.run_key


def test_a_campaign_being_dispatched_is_not_due(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    from campaign_pipeline.sending import leases

    campaign_id = scheduled_campaign(engine, write_dataset)
    assert leases.acquire(engine, campaign_id, "org-1", "cli-run", 60)
    with DagsterInstance.ephemeral() as instance:
        assert tick(instance, campaign_db_url) == []
        leases.release(engine, campaign_id, "cli-run")
        assert len(tick(instance, campaign_db_url)) == 1


@pytest.mark.parametrize("status", ["draft", "paused", "cancelled"])
def test_campaigns_that_may_not_send_are_not_due(status, campaign_db_url, engine, write_dataset, output):  # noqa: F811
    campaign_id = scheduled_campaign(engine, write_dataset)
    with engine.begin() as connection:
        connection.execute(update(campaign_rows).where(campaign_rows.c.id == campaign_id).values(status=status))
    with DagsterInstance.ephemeral() as instance:
        assert tick(instance, campaign_db_url) == []


def test_a_later_schedule_is_not_due_yet(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    campaign_id = scheduled_campaign(engine, write_dataset)
    with engine.begin() as connection:
        connection.execute(update(campaign_rows).values(scheduled_at=datetime.now(UTC) + timedelta(hours=1)))
    with DagsterInstance.ephemeral() as instance:
        assert tick(instance, campaign_db_url) == []
    assert campaigns.show_campaign(engine, "org-1", campaign_id)["status"] == "scheduled"
