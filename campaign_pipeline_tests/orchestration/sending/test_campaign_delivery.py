"""`campaign_delivery`, materialized for real: a campaign's partition reports its
delivery funnel (the same as `campaign show`) and a chart, on SQLite and PostgreSQL."""

import pytest
from dagster import DagsterInstance, materialize

from campaign_pipeline.definitions import DELIVERY_ASSETS, defs
from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions
from campaign_pipeline.orchestration.sending.delivery import campaign_delivery
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase
from campaign_pipeline.sending import campaigns
from campaign_pipeline_tests.sending.campaign_fixtures import engine  # noqa: F401 (a fixture)
from campaign_pipeline_tests.sending.delivery_fixtures import FUNNEL, funnel_campaign, handed_over_campaign


def materialize_campaign(url: str, key: str, *, raise_on_error: bool = True):
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(campaign_partitions.name, [key])
    return materialize([campaign_delivery], partition_key=key, instance=instance, raise_on_error=raise_on_error,
                       resources={"campaign_database": CampaignDatabase(url=url)})


def test_a_campaigns_partition_reports_its_funnel_and_draws_it(campaign_db_url, engine):  # noqa: F811
    campaign_id = funnel_campaign(engine)
    result = materialize_campaign(campaign_db_url, str(campaign_id))
    assert result.success
    (materialization,) = result.asset_materializations_for_node("campaign_delivery")
    metadata = {name: value.value for name, value in materialization.metadata.items()}
    assert {name: metadata[name] for name in ("handed_over", "sent", "delivered", "undelivered", "failed",
                                               "replies", "opt_outs", "segments")} == {
        name: FUNNEL[name] for name in ("handed_over", "sent", "delivered", "undelivered", "failed",
                                        "replies", "opt_outs", "segments")}
    assert metadata["delivery_rate_percent"] == 44.4
    assert metadata["failed_by_error_code"] == {"30005": 2, "none": 1}
    assert (metadata["organization_id"], metadata["campaign_status"]) == ("org-1", "sent")
    chart = metadata["funnel"]
    assert chart.startswith(f"### Campaign {campaign_id} (sent)")
    assert "| delivered | 4 | 44.4% | `████████▉` |" in chart and "| failed | 30005 | 2 |" in chart
    assert "+358" not in str(metadata)  # no phone in the metadata
    assert campaigns.show_campaign(engine, "org-1", campaign_id)["funnel"] == FUNNEL  # one funnel, two readers


def test_a_campaign_not_handed_over_yet_has_no_rate_rather_than_zero(campaign_db_url, engine):  # noqa: F811
    campaign_id, _ = handed_over_campaign(engine, "org-1", {"+358401111111": "pending"}, campaign_status="scheduled")
    metadata = materialize_campaign(campaign_db_url, str(campaign_id)).asset_materializations_for_node(
        "campaign_delivery")[0].metadata
    assert metadata["handed_over"].value == 0 and metadata["delivery_rate_percent"].value is None


@pytest.mark.parametrize("key", ["999999", "abc"])
def test_a_partition_of_no_campaign_fails_with_one_clear_line(campaign_db_url, engine, key):  # noqa: F811
    result = materialize_campaign(campaign_db_url, key, raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    description = failure.step_failure_data.error.message
    assert (f"campaign {key} not found" if key.isdigit() else f"partition '{key}' is no campaign id") in description


def test_the_asset_is_in_the_definitions_on_the_campaigns_partitions():
    assert DELIVERY_ASSETS == [campaign_delivery]
    node = defs.resolve_asset_graph().get(campaign_delivery.key)
    assert node.partitions_def == campaign_partitions and node.group_name == "campaigns"
