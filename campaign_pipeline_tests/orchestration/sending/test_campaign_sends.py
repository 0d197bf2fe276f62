"""`campaign_sends`: a real materialization of a campaign partition (proof provider)
on SQLite and PostgreSQL, its metadata and artifacts, and the blocking hand-over
checks, each shown failing on rows injected into the ledger."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from sqlalchemy import insert, select, update

from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions
from campaign_pipeline.orchestration.sending.handover_audit import handover_checks
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase, SmsProvider
from campaign_pipeline.orchestration.sending.sends import campaign_sends
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import attempts, messages, suppressions
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.suppressions import add_one
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row, engine, write_dataset  # noqa: F401

PHONES = ["+358401234561", "+358401234562", "+358401234563", "+358401234564"]
ALL_DAY = {"window_start": "00:00", "window_end": "24:00"}


@pytest.fixture
def output(tmp_path, monkeypatch):
    root = tmp_path / "out"
    monkeypatch.setenv("CAMPAIGN_OUTPUT_URI", str(root))
    monkeypatch.delenv("SMS_PROVIDER", raising=False)
    return root


def scheduled_campaign(engine, write_dataset, phones=PHONES) -> int:  # noqa: F811
    set_organization(engine, "org-1", ALL_DAY)
    dataset = write_dataset([dataset_row(phone) for phone in phones])
    campaign_id = campaigns.create_campaign(engine, "org-1", name="spring", body="Hi {first_name}",
                                            dataset=str(dataset))["id"]
    campaigns.schedule_campaign(engine, "org-1", campaign_id)
    return campaign_id


def materialize_pass(instance, url, campaign_id: int, provider: SmsProvider | None = None):
    instance.add_dynamic_partitions(campaign_partitions.name, [str(campaign_id)])
    return materialize([campaign_sends, *handover_checks], partition_key=str(campaign_id), instance=instance,
                       resources={"campaign_database": CampaignDatabase(url=url),
                                  "sms_provider": provider or SmsProvider()},
                       raise_on_error=False)


def metadata_of(result) -> dict:
    [event] = result.get_asset_materialization_events()
    return {name: value.value for name, value in event.materialization.metadata.items()}


def checks_of(result) -> dict:
    return {e.check_name: (e.passed, e.metadata["violations"].value) for e in result.get_asset_check_evaluations()}


def test_one_partition_is_one_dispatch_pass_with_its_figures(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    campaign_id = scheduled_campaign(engine, write_dataset)
    with engine.begin() as connection:
        add_one(connection, "org-1", PHONES[3], "stop_reply", "test")
    with DagsterInstance.ephemeral() as instance:
        result = materialize_pass(instance, campaign_db_url, campaign_id)
    assert result.success
    metadata = metadata_of(result)
    assert metadata["campaign_id"] == campaign_id and metadata["provider"] == "proof"
    assert (metadata["handed_over"], metadata["skipped"], metadata["deferred"], metadata["pending"]) == (3, 1, 0, 0)
    assert metadata["campaign_status"] == "sent"
    assert metadata["messages_by_status"] == {"delivered": 3, "skipped": 1}
    assert metadata["skipped_by_reason"] == {"suppressed": 1} and metadata["deferred_by_reason"] == {}
    assert metadata["messages_per_second"] > 0 and metadata["eta"] == "nothing left"
    summary = Path(metadata["summary.json"])
    assert summary.parent.parent == output / "campaigns" / str(campaign_id)
    assert json.loads(summary.read_text())["run"]["handed_over"] == 3
    assert Path(metadata["attempts.csv"]).is_file() and Path(metadata["summary.md"]).is_file()
    # Masked data only: no phone in the metadata or the attempts file.
    shown = json.dumps({k: str(v) for k, v in metadata.items()}) + Path(metadata["attempts.csv"]).read_text()
    assert not any(phone in shown for phone in PHONES)
    assert checks_of(result) == {"no_double_handover": (True, 0), "no_handover_to_suppressed": (True, 0),
                                 "no_handover_outside_window": (True, 0)}


def test_a_pass_outside_the_window_defers_and_says_when(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    campaign_id = scheduled_campaign(engine, write_dataset)
    now = datetime.now(UTC)
    # A one-hour window starting two hours from now (Helsinki is where these numbers are).
    start = (now + timedelta(hours=2)).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Helsinki"))
    end = (start + timedelta(hours=1))
    set_organization(engine, "org-1", {"window_start": f"{start:%H}:00", "window_end": f"{end:%H}:00"
                                       if end.hour else "24:00"})
    with DagsterInstance.ephemeral() as instance:
        result = materialize_pass(instance, campaign_db_url, campaign_id)
    assert result.success
    metadata = metadata_of(result)
    assert (metadata["handed_over"], metadata["deferred"]) == (0, 4)
    assert metadata["deferred_by_reason"] == {"window": 4}
    assert metadata["campaign_status"] == "sending"
    assert metadata["eta"] > now.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_each_check_fails_on_injected_bad_rows(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    campaign_id = scheduled_campaign(engine, write_dataset)
    with DagsterInstance.ephemeral() as instance:
        assert materialize_pass(instance, campaign_db_url, campaign_id).success
        noon = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # 12:00 in Helsinki
        night = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 03:00 in Helsinki
        set_organization(engine, "org-1", {"window_start": "09:00", "window_end": "20:00"})
        with engine.begin() as connection:
            ids = dict(connection.execute(select(messages.c.phone, messages.c.id)
                                          .where(messages.c.campaign_id == campaign_id)).all())
            connection.execute(update(attempts).values(started_at=noon))
            # 1. A second hand-over of one message key.
            connection.execute(insert(attempts).values(message_id=ids[PHONES[0]], organization_id="org-1", number=2,
                                                       started_at=noon, outcome="accepted", run_id="injected"))
            # 2. A hand-over to a number suppressed an hour before it.
            connection.execute(insert(suppressions).values(organization_id="*", phone=PHONES[1], reason="manual",
                                                           source="test", created_at=noon - timedelta(hours=1)))
            # ... and one suppressed after its hand-over, which is no violation.
            connection.execute(insert(suppressions).values(organization_id="org-1", phone=PHONES[2], reason="stop_reply",
                                                           source="test", created_at=noon + timedelta(hours=1)))
            # 3. A hand-over at 03:00 local time.
            connection.execute(update(attempts).where(attempts.c.message_id == ids[PHONES[3]]).values(started_at=night))
        result = materialize_pass(instance, campaign_db_url, campaign_id)
    assert not result.success  # blocking checks
    assert checks_of(result) == {"no_double_handover": (False, 1), "no_handover_to_suppressed": (False, 1),
                                 "no_handover_outside_window": (False, 1)}
    shown = " ".join(str(e.metadata["first_violations"].value) for e in result.get_asset_check_evaluations())
    assert "+35840*****61" in shown and not any(phone in shown for phone in PHONES)


def test_a_released_attempt_is_no_hand_over(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    """An attempt closed as surely creating nothing, then a new one accepted: one hand-over."""
    from campaign_pipeline.sending.handover_audit import double_handovers

    campaign_id = scheduled_campaign(engine, write_dataset, PHONES[:1])
    with DagsterInstance.ephemeral() as instance:
        assert materialize_pass(instance, campaign_db_url, campaign_id).success
    with engine.begin() as connection:
        message_id = connection.execute(select(messages.c.id)).scalar()
        connection.execute(insert(attempts).values(message_id=message_id, organization_id="org-1", number=2,
                                                   started_at=datetime.now(UTC), outcome="not_created"))
    assert double_handovers(engine, campaign_id) == []


def test_a_missing_provider_variable_fails_the_pass_in_one_line(campaign_db_url, engine, write_dataset, output):  # noqa: F811
    campaign_id = scheduled_campaign(engine, write_dataset)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(campaign_partitions.name, [str(campaign_id)])
        result = materialize([campaign_sends], partition_key=str(campaign_id), instance=instance, raise_on_error=False,
                             resources={"campaign_database": CampaignDatabase(url=campaign_db_url),
                                        "sms_provider": SmsProvider(sms_provider="twilio")})
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "TWILIO_ACCOUNT_SID" in failure.step_failure_data.error.message
    with engine.connect() as connection:  # nothing changed
        assert set(connection.execute(select(messages.c.status)).scalars()) == {"pending"}


def test_a_live_pass_through_the_twilio_simulator_with_secrets_from_envvar(
        campaign_db_url, engine, write_dataset, output, monkeypatch):  # noqa: F811
    import os

    from dagster import EnvVar

    from campaign_pipeline.orchestration.sending.resources import provider_resource_from_env
    from campaign_pipeline.sending.providers.twilio_simulator import TwilioSimulator
    from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, TOKEN

    campaign_id = scheduled_campaign(engine, write_dataset, PHONES[:3])
    set_organization(engine, "org-1", {"sender": SENDER, "mps": 100})
    with TwilioSimulator(ACCOUNT, TOKEN) as sim:
        for name, value in {"SMS_PROVIDER": "twilio", "TWILIO_API_BASE": sim.url, "TWILIO_ACCOUNT_SID": ACCOUNT,
                            "TWILIO_AUTH_TOKEN": TOKEN}.items():
            monkeypatch.setenv(name, value)
        resource = provider_resource_from_env(os.environ)
        assert resource.twilio_auth_token == EnvVar("TWILIO_AUTH_TOKEN")  # the name, not the secret
        with DagsterInstance.ephemeral() as instance:
            result = materialize_pass(instance, campaign_db_url, campaign_id, resource)
            assert result.success
            assert sorted(m["to"] for m in sim.messages()) == PHONES[:3]
            metadata = metadata_of(result)
            assert (metadata["provider"], metadata["handed_over"]) == ("twilio", 3)
            assert TOKEN not in json.dumps({k: str(v) for k, v in metadata.items()})
            assert all(passed for passed, _ in checks_of(result).values())
            # A wrong credential: the run fails in one line and nothing is marked sent.
            second = scheduled_campaign(engine, write_dataset, PHONES[3:])
            monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
            failed = materialize_pass(instance, campaign_db_url, second, resource)
            assert not failed.success
            [failure] = [e for e in failed.all_events if e.is_step_failure]
            assert "the provider failed the pass" in failure.step_failure_data.error.message
            with engine.connect() as connection:
                assert connection.execute(select(messages.c.status).where(
                    messages.c.campaign_id == second)).scalars().all() == ["pending"]
