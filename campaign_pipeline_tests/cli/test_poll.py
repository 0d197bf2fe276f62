"""`campaign-cli poll` as users run it: a real process, the Twilio simulator on
127.0.0.1, the campaign database on SQLite and PostgreSQL."""

import json
import time
from contextlib import contextmanager

import pytest

from campaign_pipeline.sending.providers.twilio import TwilioProvider
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Outcome, Rules, TwilioSimulator
from campaign_pipeline_tests.cli.helpers import logs, output, run, usage_error
from campaign_pipeline_tests.sending.campaign_fixtures import engine  # noqa: F401
from campaign_pipeline_tests.sending.delivery_fixtures import campaign_status, handed_over_campaign, message_rows
from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, TOKEN


@contextmanager
def serving(monkeypatch, faults: Faults | None = None):
    """The Twilio simulator on 127.0.0.1, and the environment the command reaches it by."""
    rules = Rules(outcomes={"0": Outcome("failed", 30008)}, step_seconds=0.02)
    with TwilioSimulator(ACCOUNT, TOKEN, rules=rules, faults=faults) as sim:
        for name, value in (("SMS_PROVIDER", "twilio"), ("TWILIO_API_BASE", sim.url),
                            ("TWILIO_ACCOUNT_SID", ACCOUNT), ("TWILIO_AUTH_TOKEN", TOKEN)):
            monkeypatch.setenv(name, value)
        yield sim


@pytest.fixture
def simulator(monkeypatch):
    with serving(monkeypatch) as sim:
        yield sim


def sent(engine, sim, organization_id, phones):  # noqa: F811
    with TwilioProvider(ACCOUNT, ACCOUNT, TOKEN, api_base=sim.url) as provider:
        sids = {phone: provider.send(phone, "Hello", SENDER).provider_id for phone in phones}
    campaign_id, _ = handed_over_campaign(engine, organization_id, {p: "queued" for p in phones}, sids=sids)
    return campaign_id


def test_poll_records_the_statuses_of_one_organization_and_rolls_up(campaign_db_url, engine, simulator):  # noqa: F811
    ours = sent(engine, simulator, "org-1", ["+358401234561", "+358401234562"])
    failing = sent(engine, simulator, "org-1", ["+358401234560"])
    theirs = sent(engine, simulator, "org-2", ["+358401234563"])
    time.sleep(0.2)
    result = run(campaign_db_url, "poll", "--org", "org-1")
    document = output(result)
    assert document == {"provider": "twilio", "asked": 3, "moved": 3, "unknown": 0, "unavailable": 0,
                        "throttled": 0}
    assert set(message_rows(engine, ours).values()) == {("delivered", None)}
    assert message_rows(engine, failing) == {"+358401234560": ("failed", "30008")}
    assert campaign_status(engine, failing) == "failed"
    assert message_rows(engine, theirs) == {"+358401234563": ("queued", None)}  # another organization's
    assert any(entry["event"] == "poll" for entry in logs(result.stderr))
    # --campaign, and --due: nothing is due by the schedule yet (next_poll_at unset by the fixture).
    assert output(run(campaign_db_url, "poll", "--due"))["asked"] == 0
    assert usage_error(run(campaign_db_url, "poll", "--org", "org-1", "--campaign", theirs)) == (
        f"campaign {theirs} not found")  # another organization's, as dispatch says
    assert output(run(campaign_db_url, "poll", "--campaign", theirs))["moved"] == 1


def test_poll_usage_errors_are_one_line(campaign_db_url, engine, monkeypatch):  # noqa: F811
    # Any id that names no campaign is "not found", in the words of every other command.
    # (A long run of digits is masked as phone-like in the message, by both.)
    for campaign_id in ("x", "12", "99999999999999999999999", "2147483648", "\u0661\u0662"):
        said = usage_error(run(campaign_db_url, "poll", "--campaign", campaign_id))
        assert said.startswith("campaign ") and said.endswith(" not found"), campaign_id
        assert said == usage_error(run(campaign_db_url, "campaign", "show", campaign_id, "--org", "org-1"))
    monkeypatch.setenv("CAMPAIGN_POLL_SCHEDULE", "300,30")
    assert "CAMPAIGN_POLL_SCHEDULE" in usage_error(run(campaign_db_url, "poll"))
    monkeypatch.setenv("CAMPAIGN_POLL_SCHEDULE", "")
    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    assert "TWILIO_ACCOUNT_SID" in usage_error(run(campaign_db_url, "poll"))


def test_sns_says_it_cannot_be_polled(campaign_db_url, monkeypatch):
    monkeypatch.setenv("SMS_PROVIDER", "aws-sns")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = run(campaign_db_url, "poll")
    assert result.returncode == 0 and "aws-sns" in output(result)["note"]
    assert any(entry["event"] == "poll_not_possible" for entry in logs(result.stderr))


def test_a_refused_account_exits_1(campaign_db_url, engine, simulator, monkeypatch):  # noqa: F811
    sent(engine, simulator, "org-1", ["+358401234561"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    result = run(campaign_db_url, "poll")
    assert result.returncode == 1 and result.stdout == ""
    assert logs(result.stderr)[-1]["event"] == "run_failed"


def test_an_unreachable_provider_exits_1_with_its_document(campaign_db_url, engine, simulator, monkeypatch):  # noqa: F811
    campaign_id = sent(engine, simulator, "org-1", ["+358401234561", "+358401234562"])
    monkeypatch.setenv("TWILIO_API_BASE", "http://127.0.0.1:1")  # nothing listens there
    result = run(campaign_db_url, "poll", "--org", "org-1")
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"provider": "twilio", "asked": 2, "moved": 0, "unknown": 0,
                                         "unavailable": 2, "throttled": 0}
    entry = logs(result.stderr)[-1]
    assert (entry["level"], entry["event"], entry["unavailable"]) == ("error", "poll_unavailable", 2)
    assert set(message_rows(engine, campaign_id).values()) == {("queued", None)}


def test_what_the_provider_did_answer_is_recorded_and_a_404_is_no_failure(campaign_db_url, engine,  # noqa: F811
                                                                         monkeypatch):
    with serving(monkeypatch, Faults(read_script=("unavailable",))) as sim:  # the first read: 503
        campaign_id = sent(engine, sim, "org-1", ["+358401234561", "+358401234562"])
        time.sleep(0.2)
        result = run(campaign_db_url, "poll")
        assert result.returncode == 1
        assert json.loads(result.stdout) == {"provider": "twilio", "asked": 2, "moved": 1, "unknown": 0,
                                             "unavailable": 1, "throttled": 0}
        assert sorted(message_rows(engine, campaign_id).values()) == [("delivered", None), ("queued", None)]
        # The next poll asks the one left again; an id the provider does not know (404) is answered.
        unknown, _ = handed_over_campaign(engine, "org-1", {"+358401234569": "queued"})
        assert output(run(campaign_db_url, "poll")) == {"provider": "twilio", "asked": 2, "moved": 1, "unknown": 1,
                                                        "unavailable": 0, "throttled": 0}
    assert set(message_rows(engine, campaign_id).values()) == {("delivered", None)}
    assert message_rows(engine, unknown) == {"+358401234569": ("queued", None)}
