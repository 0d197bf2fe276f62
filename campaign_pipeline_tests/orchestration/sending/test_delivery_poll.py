"""The delivery poll sensor, ticked for real against the Twilio simulator on 127.0.0.1
and a real campaign database: due messages are asked about, the rest wait."""

import os
import time
from datetime import timedelta

from dagster import DagsterInstance, SkipReason, build_sensor_context
from sqlalchemy import update

from campaign_pipeline.definitions import defs
from campaign_pipeline.orchestration.sending.delivery_poll import delivery_poll_sensor
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase, provider_resource_from_env
from campaign_pipeline.sending.db.models import messages, utc_now
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.providers.twilio import TwilioProvider
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Rules, TwilioSimulator
from campaign_pipeline_tests.sending.delivery_fixtures import handed_over_campaign, message_rows
from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, TOKEN


def tick(instance, url):
    context = build_sensor_context(instance=instance, resources={
        "campaign_database": CampaignDatabase(url=url), "sms_provider": provider_resource_from_env(os.environ)})
    return delivery_poll_sensor(context)


def test_a_tick_polls_the_due_messages_inline(campaign_db_url, campaign_engine, monkeypatch):
    set_organization(campaign_engine, "org-1", {})
    faults = Faults(read_script=("rate_limit",), retry_after=1)
    with TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(step_seconds=0.01), faults=faults) as sim:
        for name, value in (("SMS_PROVIDER", "twilio"), ("TWILIO_API_BASE", sim.url),
                            ("TWILIO_ACCOUNT_SID", ACCOUNT), ("TWILIO_AUTH_TOKEN", TOKEN)):
            monkeypatch.setenv(name, value)
        phones = ["+358401234561", "+358401234562", "+358401234563"]
        with TwilioProvider(ACCOUNT, ACCOUNT, TOKEN, api_base=sim.url) as provider:
            sids = {phone: provider.send(phone, "Hello", SENDER).provider_id for phone in phones}
        handed_over_at = utc_now() - timedelta(minutes=1)
        campaign_id, _ = handed_over_campaign(campaign_engine, "org-1", {p: "queued" for p in phones}, sids=sids,
                                              handed_over_at=handed_over_at)
        with campaign_engine.begin() as connection:
            connection.execute(update(messages).values(next_poll_at=handed_over_at + timedelta(seconds=30)))
            connection.execute(update(messages).where(messages.c.phone == phones[2])
                               .values(next_poll_at=utc_now() + timedelta(minutes=4)))  # not yet due
        time.sleep(0.1)
        with DagsterInstance.ephemeral() as instance:
            first = tick(instance, campaign_db_url)
            assert isinstance(first, SkipReason) and "asked 2" in first.skip_message
            assert "moved 2" in first.skip_message and "throttled 1" in first.skip_message
            assert sim.stats["fetch"] == 2
            second = tick(instance, campaign_db_url)  # the next instants are minutes away
            assert "asked 0" in second.skip_message and sim.stats["fetch"] == 2
    rows = message_rows(campaign_engine, campaign_id)
    assert rows == {phones[0]: ("delivered", None), phones[1]: ("delivered", None), phones[2]: ("queued", None)}


def test_an_unreachable_provider_skips_the_tick_and_the_next_asks_again(campaign_db_url, campaign_engine,
                                                                         monkeypatch):
    # The command exits 1 on it; the sensor must not fail every tick: the messages stay due.
    for name, value in (("SMS_PROVIDER", "twilio"), ("TWILIO_API_BASE", "http://127.0.0.1:1"),
                        ("TWILIO_ACCOUNT_SID", ACCOUNT), ("TWILIO_AUTH_TOKEN", TOKEN)):
        monkeypatch.setenv(name, value)
    campaign_id, _ = handed_over_campaign(campaign_engine, "org-1", {"+358401234561": "queued"})
    due_at = utc_now() - timedelta(seconds=1)
    with campaign_engine.begin() as connection:
        connection.execute(update(messages).values(next_poll_at=due_at))
    with DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            result = tick(instance, campaign_db_url)
            assert isinstance(result, SkipReason) and "asked 1" in result.skip_message
            assert "unavailable 1" in result.skip_message
    assert message_rows(campaign_engine, campaign_id) == {"+358401234561": ("queued", None)}


def test_no_database_yet_is_skipped(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        result = tick(instance, f"sqlite:///{tmp_path / 'none' / 'campaign.db'}")
    assert isinstance(result, SkipReason) and "no campaign database yet" in result.skip_message


def test_the_sensor_is_registered():
    assert delivery_poll_sensor in defs.sensors
