"""POST /twilio/status on the real server (sending.md, "Delivery and replies"):
authenticated first, statuses only forward, nothing a refused request changes."""

import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from campaign_pipeline.sending.providers.twilio_signature import sign
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Outcome, Rules, TwilioSimulator
from campaign_pipeline_tests.sending.delivery_fixtures import (
    campaign_status, handed_over_campaign, message_rows, provider_id,
)
from campaign_pipeline_tests.sending.webhooks.helpers import ACCOUNT, SENDER, TOKEN, WebhookServer, status_form

PHONE = "+358401234567"


@pytest.mark.parametrize("workers", [1, 2])
def test_callbacks_in_any_order_and_repeated_leave_each_message_in_its_final_status(engine, campaign_db_url, workers):
    phones = {f"+35840300{i:04d}": "queued" for i in range(30)}
    campaign_id, sids = handed_over_campaign(engine, "org-1", phones)
    rng = random.Random(3)
    expected, callbacks = {}, []
    for phone in phones:
        final, code = rng.choice([("delivered", None), ("delivered", None), ("undelivered", "30003"),
                                  ("failed", "30007")])
        expected[phone] = (final, code)
        for status in ("sending", "sent", final):
            callbacks += [status_form(sids[phone], status, code if status == final else None, phone)] * rng.randint(1, 3)
    rng.shuffle(callbacks)
    with WebhookServer(campaign_db_url, workers=workers) as server, httpx.Client() as client:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda form: server.post("/twilio/status", form, client=client), callbacks))
    assert {answer.status_code for answer in answers} == {204}
    assert message_rows(engine, campaign_id) == expected
    assert server.returncode == 0 and server.events("webhooks_stopped")


def test_the_simulators_signed_callbacks_reach_final_statuses_and_roll_the_campaign_up(engine, campaign_db_url):
    phones = ["+358401000001", "+358401000002"]
    rules = Rules(outcomes={"01": Outcome("undelivered", 30003), "02": Outcome("failed", 30005)}, step_seconds=0.05)
    with (WebhookServer(campaign_db_url) as server,
          TwilioSimulator(ACCOUNT, TOKEN, rules=rules, faults=Faults(callback_duplicates=1.0)) as sim,
          httpx.Client(base_url=f"{sim.url}/2010-04-01/Accounts/{ACCOUNT}", auth=(ACCOUNT, TOKEN)) as api):
        # The dispatcher's part: hand over, record the provider ids; the callbacks may come before that commit.
        created = {phone: api.post("Messages.json", data={
            "To": phone, "From": SENDER, "Body": "Hello", "StatusCallback": server.url + "/twilio/status"}).json()
            for phone in phones}
        campaign_id, _ = handed_over_campaign(engine, "org-1", dict.fromkeys(phones, "queued"),
                                              sids={phone: created[phone]["sid"] for phone in phones})
        _wait(lambda: sim.stats["callbacks"] >= 2 * 2 * 2)  # queued is the answer; failed: 1 more, undelivered: 3
        _wait(lambda: campaign_status(engine, campaign_id) == "failed")
    assert message_rows(engine, campaign_id) == {phones[0]: ("undelivered", "30003"), phones[1]: ("failed", "30005")}


def _wait(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_refused_requests_change_nothing_and_the_server_goes_on(engine, campaign_db_url):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {PHONE: "queued"})
    sid = sids[PHONE]
    good = status_form(sid, "delivered")
    with WebhookServer(campaign_db_url) as server:
        url = server.url + "/twilio/status"
        refused = [
            (403, server.post("/twilio/status", good, signature="")),
            (403, httpx.post(url, data=good)),  # no header at all
            (403, server.post("/twilio/status", good, token="another-token")),
            (403, server.post("/twilio/status", good, signed_url="https://elsewhere.example/twilio/status")),
            (403, server.post("/twilio/status", good, signature=sign(TOKEN, url, {**good, "MessageStatus": "sent"}))),
            (403, server.post("/twilio/status", good, signature="not base64 at all!")),
            (403, httpx.post(url, content=b"\xff\xfe", headers={"X-Twilio-Signature": "x"})),
            (400, server.post("/twilio/status", {k: v for k, v in good.items() if k != "MessageSid"})),
            (400, server.post("/twilio/status", {**good, "MessageSid": "not-a-sid"})),
            (400, server.post("/twilio/status", {**good, "MessageStatus": "DELIVERED; DROP TABLE"})),
            (400, server.post("/twilio/status", {**good, "ErrorCode": "30003abc"})),
            # Twilio signs a non-form body by its URL only: signed, but not a status callback.
            (400, httpx.post(url, json=good, headers={"X-Twilio-Signature": sign(TOKEN, url, {})})),
            (413, server.post("/twilio/status", {**good, "Padding": "x" * 70_000})),
            (413, httpx.post(url, content=_chunks(70_000), headers={"X-Twilio-Signature": sign(TOKEN, url, good)})),
            (405, httpx.get(url)),
        ]
        for expected, answer in refused:
            assert answer.status_code == expected, (expected, answer.status_code, answer.text)
        assert message_rows(engine, campaign_id) == {PHONE: ("queued", None)}
        assert server.post("/twilio/status", good).status_code == 204  # still serving, and the real one counts
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert message_rows(engine, campaign_id) == {PHONE: ("delivered", None)}
    reasons = [entry["reason"] for entry in server.events("webhook_refused")]
    assert reasons.count("bad signature") == 5 and reasons.count("no signature") == 2
    assert len(server.events("webhook_malformed")) == 5


def _chunks(size):
    yield b"MessageSid=" + b"a" * 1000
    for _ in range(size // 1000):
        yield b"a" * 1000


def test_callbacks_for_unknown_messages_and_other_statuses_are_answered_and_logged(engine, campaign_db_url):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {PHONE: "sent"})
    with WebhookServer(campaign_db_url) as server:
        assert server.post("/twilio/status", status_form(provider_id(), "delivered")).status_code == 204
        assert server.post("/twilio/status", status_form(sids[PHONE], "read")).status_code == 204
    assert message_rows(engine, campaign_id) == {PHONE: ("sent", None)}
    assert [e["event"] for e in server.logs if e["event"].startswith("status_")] == ["status_unmatched",
                                                                                      "status_ignored"]


def test_behind_a_proxy_the_signature_is_over_the_base_url(engine, campaign_db_url):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {PHONE: "sent"})
    base = "https://hooks.example.com/sms"
    form = status_form(sids[PHONE], "delivered")
    with WebhookServer(campaign_db_url, base_url=base + "/") as server:
        assert server.post("/twilio/status", form).status_code == 403  # signed for the local URL
        assert server.post("/twilio/status?attempt=2", form, signed_url=base + "/twilio/status").status_code == 403
        answer = server.post("/twilio/status?attempt=2", form, signed_url=base + "/twilio/status?attempt=2")
        assert answer.status_code == 204
    assert message_rows(engine, campaign_id) == {PHONE: ("delivered", None)}
    (listening,) = server.events("webhooks_listening")
    assert listening["base_url"] == base


@pytest.mark.parametrize("campaign_db_url", ["postgresql"], indirect=True)
def test_a_database_gone_is_a_500_and_a_503_health_and_the_server_goes_on(engine, campaign_db_url,
                                                                          campaign_databases):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {PHONE: "sent"})
    engine.dispose()
    with WebhookServer(campaign_db_url) as server:
        name = campaign_db_url.rsplit("/", 1)[1]
        campaign_databases.server.drop_database(name)
        answer = server.post("/twilio/status", status_form(sids[PHONE], "delivered", to=PHONE))
        assert answer.status_code == 500 and answer.json() == {"error": "internal error"}
        assert httpx.get(server.url + "/healthz").status_code == 503
        assert httpx.get(server.url + "/healthz").json() == {"status": "unavailable"}
    (failed,) = server.events("webhook_failed")
    assert failed["path"] == "/twilio/status" and "Error" in failed["error"]
    assert server.returncode == 0
