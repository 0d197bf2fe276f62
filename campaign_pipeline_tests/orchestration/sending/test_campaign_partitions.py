"""The campaigns sensor against a real campaign database: scheduled and sending
campaigns become partitions of `campaigns`, once each."""

from pathlib import Path

from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions, campaign_partitions_sensor
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row, write_dataset  # noqa: F401 (a fixture)


def evaluate(instance, url):
    context = build_sensor_context(instance=instance, resources={"campaign_database": CampaignDatabase(url=url)})
    result = campaign_partitions_sensor(context)
    if isinstance(result, SensorResult):  # what the daemon would apply
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_scheduled_campaigns_become_partitions_once(campaign_db_url, campaign_engine, write_dataset):
    set_organization(campaign_engine, "org-1", {})
    dataset = write_dataset([dataset_row("+358401234567")])
    ids = [campaigns.create_campaign(campaign_engine, "org-1", name=f"c{n}", body="Hi", dataset=str(dataset))["id"]
           for n in range(3)]
    campaigns.schedule_campaign(campaign_engine, "org-1", ids[0])
    campaigns.schedule_campaign(campaign_engine, "org-1", ids[2])
    campaigns.cancel_campaign(campaign_engine, "org-1", ids[2])
    with DagsterInstance.ephemeral() as instance:
        result = evaluate(instance, campaign_db_url)
        assert isinstance(result, SensorResult)
        assert instance.get_dynamic_partitions(campaign_partitions.name) == [str(ids[0])]  # not the draft, not cancelled
        assert isinstance(evaluate(instance, campaign_db_url), SkipReason)  # nothing new
        campaigns.schedule_campaign(campaign_engine, "org-1", ids[1])
        evaluate(instance, campaign_db_url)
        assert sorted(instance.get_dynamic_partitions(campaign_partitions.name)) == sorted([str(ids[0]), str(ids[1])])


def test_no_database_file_yet_is_skipped_and_not_created(tmp_path):
    path = tmp_path / "state" / "campaign.db"
    with DagsterInstance.ephemeral() as instance:
        result = evaluate(instance, f"sqlite:///{path}")
    assert isinstance(result, SkipReason) and "no campaign database yet" in result.skip_message
    assert not Path(path).exists() and not path.parent.exists()
