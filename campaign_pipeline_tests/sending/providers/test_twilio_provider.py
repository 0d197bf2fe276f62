"""The Twilio adapter against the simulator over real HTTP: every answer classified,
reconciliation by listing, credentials from the environment only."""

import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from campaign_pipeline.sending.providers import (
    Accepted, AccountFailure, ConfigurationError, DeliveryStatus, NotCreated, ProviderUnavailable, RateLimited, Rejected,
    Uncertain,
)
from campaign_pipeline.sending.providers.twilio import TwilioProvider
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Outcome, Rules, TwilioSimulator

from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, SERVICE, TO, TOKEN

NOW = datetime.now


def provider_for(sim, token=TOKEN, **options):
    env = {"TWILIO_API_BASE": sim.url, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": token}
    return TwilioProvider.from_env(env, **options)


@pytest.fixture
def sim_and_provider():
    rules = Rules(rejections={"11": 21211, "08": 21408, "10": 21610, "14": 21614}, step_seconds=0.1)
    with TwilioSimulator(ACCOUNT, TOKEN, rules=rules) as sim, provider_for(sim) as provider:
        yield sim, provider


def test_an_accepted_message_reports_its_sid_status_and_segments(sim_and_provider):
    sim, provider = sim_and_provider
    outcome = provider.send(TO, "Hei Anna!", SENDER)
    assert isinstance(outcome, Accepted) and outcome.provider_id.startswith("SM")
    assert (outcome.status, outcome.segments) == ("queued", 1)
    service = provider.send("+358401234568", "Hei" * 60, SERVICE)
    assert (service.status, service.segments) == ("accepted", 2)
    created = {m["to"]: m for m in sim.messages()}
    assert created["+358401234568"]["messaging_service_sid"] == SERVICE


@pytest.mark.parametrize(("to", "body", "code", "opt_out"), [
    ("+358401234511", "x", "21211", False),
    ("not-a-number", "x", "21211", False),
    ("+358401234508", "x", "21408", False),
    ("+358401234510", "x", "21610", True),
    ("+358401234514", "x", "21614", False),
    (TO, "x" * 1601, "21617", False),
])
def test_permanent_refusals_are_rejected(sim_and_provider, to, body, code, opt_out):
    sim, provider = sim_and_provider
    outcome = provider.send(to, body, SENDER)
    assert isinstance(outcome, Rejected)
    assert (outcome.code, outcome.opt_out) == (code, opt_out)
    assert "+358401234" not in outcome.message  # the number, if quoted, is masked
    assert sim.messages() == []


def test_429_is_not_created_with_retry_after_and_503_is_uncertain():
    faults = Faults(script=("rate_limit", "unavailable", "server_error"), retry_after=3)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults) as sim, provider_for(sim) as provider:
        assert provider.send(TO, "a", SENDER) == NotCreated(retry_after=3.0, reason="429 (code 20429)")
        assert isinstance(provider.send(TO, "b", SENDER), Uncertain)
        assert isinstance(provider.send(TO, "c", SENDER), Uncertain)
        assert [m["body"] for m in sim.messages()] == ["c"]  # a 5xx may or may not have created it


def test_a_dropped_connection_is_uncertain_and_reconciliation_finds_the_message():
    faults = Faults(per_to={TO: ("drop",)})
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults) as sim, provider_for(sim) as provider:
        since = NOW(UTC)
        assert isinstance(provider.send(TO, "Your photos are ready", SENDER), Uncertain)
        found = provider.find_message(TO, "Your photos are ready", SENDER, since)
        assert found is not None and found.provider_id == sim.messages()[0]["sid"]
        assert (found.to, found.status, found.segments) == (TO, "queued", 1)
        assert provider.find_message(TO, "Another body", SENDER, since) is None
        assert provider.find_message(TO, "Your photos are ready", "+358450000000", since) is None
        assert provider.find_message("+358409999999", "Your photos are ready", SENDER, since) is None


def test_a_held_back_answer_times_out_as_uncertain_and_is_found():
    faults = Faults(per_to={TO: ("hang",)}, hang_seconds=1.5)
    timeout = httpx.Timeout(connect=2, read=0.3, write=2, pool=2)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults) as sim, provider_for(sim, timeout=timeout) as provider:
        since = NOW(UTC)
        assert provider.send(TO, "held", SERVICE) == Uncertain(reason="no answer: ReadTimeout")
        assert provider.find_message(TO, "held", SERVICE, since).provider_id == sim.messages()[0]["sid"]
        assert provider.find_message(TO, "held", "MG" + "b" * 32, since) is None


def test_reconciliation_pages_back_only_as_far_as_the_attempt_started():
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, provider_for(sim) as provider:
        for number in range(250):  # three pages of 100 newer messages to the same number
            assert isinstance(provider.send(TO, f"other {number}", SENDER), Accepted)
        target = sim.messages()[5]
        found = provider.find_message(TO, "other 5", SENDER, NOW(UTC) - timedelta(seconds=30))
        assert found.provider_id == target["sid"]
        lists = sim.stats["list"]
        assert lists == 3
        # An attempt that started after the message (beyond the clock-skew margin) does not claim it.
        assert provider.find_message(TO, "other 5", SENDER, NOW(UTC) + timedelta(minutes=5)) is None
        assert sim.stats["list"] == lists + 1


def test_a_connection_that_cannot_be_opened_is_not_created():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {"TWILIO_API_BASE": f"http://127.0.0.1:{port}", "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN}
    with TwilioProvider.from_env(env) as provider:
        outcome = provider.send(TO, "x", SENDER)
        assert isinstance(outcome, NotCreated) and outcome.retry_after is None
        with pytest.raises(ProviderUnavailable):
            provider.find_message(TO, "x", SENDER, NOW(UTC))


def test_wrong_credentials_fail_the_account_without_naming_the_token():
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, provider_for(sim, token="not-the-token-xyz") as provider:
        for call in (lambda: provider.send(TO, "x", SENDER),
                     lambda: provider.find_message(TO, "x", SENDER, NOW(UTC)),
                     lambda: provider.fetch_status("SM" + "0" * 32)):
            with pytest.raises(AccountFailure) as failure:
                call()
            assert "twilio" in str(failure.value) and "not-the-token-xyz" not in str(failure.value)


def test_fetch_status_follows_messages_to_their_outcome():
    rules = Rules(outcomes={"0": Outcome("undelivered", 30003)}, step_seconds=0.05)
    with TwilioSimulator(ACCOUNT, TOKEN, rules=rules) as sim, provider_for(sim) as provider:
        delivered = provider.send(TO, "x", SENDER).provider_id
        undelivered = provider.send("+358401234560", "x", SENDER).provider_id
        assert provider.fetch_status(delivered).status in ("queued", "sending")
        time.sleep(0.3)
        assert provider.fetch_status(delivered) == DeliveryStatus("delivered", None)
        assert provider.fetch_status(undelivered) == DeliveryStatus("undelivered", "30003")
        assert provider.fetch_status("SM" + "f" * 32) is None  # 404: Twilio does not know it


def test_a_throttled_fetch_says_how_long_to_wait_and_a_503_is_unavailable():
    faults = Faults(read_script=("rate_limit", "unavailable"), retry_after=3)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults) as sim, provider_for(sim) as provider:
        sid = provider.send(TO, "x", SENDER).provider_id
        with pytest.raises(RateLimited) as limited:
            provider.fetch_status(sid)
        assert limited.value.retry_after == 3
        with pytest.raises(ProviderUnavailable) as unavailable:
            provider.fetch_status(sid)
        assert not isinstance(unavailable.value, RateLimited)
        assert provider.fetch_status(sid).status == "queued"
        assert sim.stats["read_fault_rate_limit"] == 1 and sim.stats["read_fault_unavailable"] == 1


def test_an_api_key_pair_replaces_the_auth_token():
    key, secret = "SK" + "3" * 32, "key-secret"
    with TwilioSimulator(ACCOUNT, TOKEN, api_key=key, api_secret=secret) as sim:
        env = {"TWILIO_API_BASE": sim.url, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_API_KEY": key,
               "TWILIO_API_SECRET": secret}
        with TwilioProvider.from_env(env) as provider:
            assert isinstance(provider.send(TO, "x", SENDER), Accepted)


@pytest.mark.parametrize(("env", "missing"), [
    ({}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": ACCOUNT}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_API_KEY": "SK1"}, "TWILIO_API_SECRET"),
    ({"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": "t", "TWILIO_API_BASE": "ftp://x"}, "TWILIO_API_BASE"),
])
def test_the_environment_names_what_is_missing(env, missing):
    with pytest.raises(ConfigurationError, match=missing):
        TwilioProvider.from_env(env)


def test_the_default_base_is_twilio_itself():
    with TwilioProvider.from_env({"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": "t"}) as provider:
        assert provider.api_base == "https://api.twilio.com"


def test_reconciliation_never_returns_a_message_already_recorded_for_another():
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, provider_for(sim) as provider:
        since = NOW(UTC)
        older, newer = (provider.send(TO, "same body", SENDER).provider_id for _ in range(2))
        assert provider.find_message(TO, "same body", SENDER, since).provider_id == newer
        assert provider.find_message(TO, "same body", SENDER, since, {newer}).provider_id == older
        assert provider.find_message(TO, "same body", SENDER, since, {newer, older}) is None
