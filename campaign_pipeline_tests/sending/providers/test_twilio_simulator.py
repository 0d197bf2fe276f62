"""The Twilio simulator speaks provider-twilio.md: create, fetch, list, statuses, callbacks, faults."""

import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from campaign_pipeline.sending.providers.twilio_signature import valid
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Outcome, Rules, TwilioSimulator

from campaign_pipeline_tests.sending.providers.helpers import (
    ACCOUNT, SENDER, SERVICE, TO, TOKEN, CallbackReceiver, api,
)


@pytest.fixture
def sim():
    with TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(step_seconds=0.2)) as simulator:
        yield simulator


def create(client, to=TO, body="Hei!", **extra):
    form = {"To": to, "Body": body, **({"From": SENDER} if "MessagingServiceSid" not in extra else {}), **extra}
    return client.post("Messages.json", data=form)


def test_create_answers_201_with_the_documented_message(sim):
    with api(sim) as client:
        response = create(client)
    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message | {"sid": "", "date_created": "", "date_updated": ""} == message | {
        "sid": "", "account_sid": ACCOUNT, "to": TO, "from": SENDER, "messaging_service_sid": None, "body": "Hei!",
        "status": "queued", "num_segments": "1", "direction": "outbound-api", "date_created": "", "date_updated": "",
        "date_sent": None, "error_code": None, "error_message": None, "price": None, "price_unit": "USD",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{message['sid']}.json",
    }
    created = parsedate_to_datetime(message["date_created"])
    assert created.utcoffset().total_seconds() == 0 and abs((datetime.now(UTC) - created).total_seconds()) < 5
    assert message["date_created"].endswith(" +0000")


def test_a_messaging_service_message_starts_accepted(sim):
    with api(sim) as client:
        message = create(client, MessagingServiceSid=SERVICE).json()
    assert (message["status"], message["messaging_service_sid"], message["from"]) == ("accepted", SERVICE, None)


def test_wrong_credentials_get_401_code_20003_and_create_nothing(sim):
    with api(sim, token="wrong") as client:
        response = create(client)
        listing = client.get("Messages.json")
    assert response.status_code == 401 == listing.status_code
    assert response.json() == {"code": 20003, "message": "Authenticate",
                               "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
    assert sim.messages() == []


def test_an_api_key_pair_authenticates_under_the_account_path():
    with TwilioSimulator(ACCOUNT, TOKEN, api_key="SK" + "2" * 32, api_secret="key-secret") as sim:
        with httpx.Client(base_url=f"{sim.url}/2010-04-01/Accounts/{ACCOUNT}", auth=("SK" + "2" * 32, "key-secret")) as client:
            assert create(client).status_code == 201


@pytest.mark.parametrize(("form", "code"), [
    ({"To": "0401234567"}, 21211),
    ({"To": ""}, 21604),
    ({"Body": "x" * 1601}, 21617),
    ({"Body": ""}, 21602),
    ({"From": ""}, 21603),
])
def test_bad_requests_are_refused_with_twilios_codes(sim, form, code):
    with api(sim) as client:
        response = client.post("Messages.json", data={"To": TO, "From": SENDER, "Body": "Hei", **form})
    assert (response.status_code, response.json()["code"], response.json()["status"]) == (400, code, 400)
    assert sim.messages() == []


def test_configured_numbers_are_rejected_at_create():
    rules = Rules(rejections={"99": 21610, "+358409999998": 21614})
    with TwilioSimulator(ACCOUNT, TOKEN, rules=rules) as sim, api(sim) as client:
        assert create(client, to="+358401111199").json()["code"] == 21610
        assert create(client, to="+358409999998").json()["code"] == 21614
        assert create(client, to="+358409999997").status_code == 201


def test_fetch_shows_one_message_and_404_code_20404_for_an_unknown_sid(sim):
    with api(sim) as client:
        sid = create(client).json()["sid"]
        assert client.get(f"Messages/{sid}.json").json()["sid"] == sid
        missing = client.get(f"Messages/SM{'0' * 32}.json")
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)


def test_statuses_move_forward_over_time_to_the_configured_outcome():
    rules = Rules(outcomes={"0": Outcome("undelivered", 30003), "+358401111119": Outcome("failed", 30008)},
                  step_seconds=0.15)
    with TwilioSimulator(ACCOUNT, TOKEN, rules=rules) as sim, api(sim) as client:
        sids = {to: create(client, to=to).json()["sid"] for to in ("+358401111111", "+358401111110", "+358401111119")}
        seen = {to: [] for to in sids}
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for to, sid in sids.items():
                message = client.get(f"Messages/{sid}.json").json()
                if not seen[to] or seen[to][-1][0] != message["status"]:
                    seen[to].append((message["status"], message["error_code"], message["date_sent"] is not None))
            time.sleep(0.03)
    assert seen["+358401111111"] == [("queued", None, False), ("sending", None, False), ("sent", None, True),
                                      ("delivered", None, True)]
    assert seen["+358401111110"][-1] == ("undelivered", 30003, True)
    assert seen["+358401111119"] == [("queued", None, False), ("failed", 30008, False)]


def test_list_is_newest_first_filtered_and_paged_by_next_page_uri(sim):
    with api(sim) as client:
        sids = [create(client, to=TO, body=f"n{i}").json()["sid"] for i in range(7)]
        create(client, to="+358409876543")
        create(client, to=TO, From="+358450000000")
        seen, url, params = [], "Messages.json", {"To": TO, "From": SENDER, "PageSize": 3}
        while url:
            page = client.get(url, params=params).json() if params else httpx.get(
                sim.url + url, auth=(ACCOUNT, TOKEN)).json()
            assert page["page_size"] == 3 and len(page["messages"]) <= 3
            seen += [m["sid"] for m in page["messages"]]
            url, params = page["next_page_uri"], None
        assert seen == sids[::-1]
        assert client.get("Messages.json", params={"PageSize": 1001}).status_code == 400
        assert len(client.get("Messages.json").json()["messages"]) == 9


def test_date_sent_filters_leave_out_messages_not_sent_yet():
    with TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(step_seconds=0.1)) as sim, api(sim) as client:
        sid = create(client).json()["sid"]
        # The day it will be sent on: in 0.2 s (step_seconds x 2), which may be past midnight.
        today = (datetime.now(UTC) + timedelta(seconds=0.2)).date().isoformat()
        assert client.get("Messages.json", params={"DateSent": today}).json()["messages"] == []
        time.sleep(0.35)
        today = parsedate_to_datetime(client.get(f"Messages/{sid}.json").json()["date_sent"]).date().isoformat()
        for name in ("DateSent", "DateSent<", "DateSent>"):
            assert [m["sid"] for m in client.get("Messages.json", params={name: today}).json()["messages"]] == [sid]
        assert client.get("Messages.json", params={"DateSent<": "2020-01-01"}).json()["messages"] == []


def test_status_callbacks_are_posted_signed_with_the_auth_token(sim):
    with CallbackReceiver() as receiver, api(sim) as client:
        callback = receiver.url + "/twilio/status?campaign=7"
        sid = create(client, StatusCallback=callback).json()["sid"]
        posts = receiver.wait_for(3)
    assert [form["MessageStatus"] for _, _, form in posts] == ["sending", "sent", "delivered"]
    for path, headers, form in posts:
        assert path == "/twilio/status?campaign=7"
        assert form["MessageSid"] == form["SmsSid"] == sid and form["AccountSid"] == ACCOUNT
        assert (form["To"], form["From"], form["ApiVersion"]) == (TO, SENDER, "2010-04-01")
        assert valid(TOKEN, callback, form, headers["X-Twilio-Signature"])
        assert not valid("another-token", callback, form, headers["X-Twilio-Signature"])


def test_an_undelivered_callback_carries_the_error_code():
    rules = Rules(outcomes={"0": Outcome("undelivered", 30005)}, step_seconds=0.1)
    with TwilioSimulator(ACCOUNT, TOKEN, rules=rules) as sim, CallbackReceiver() as receiver, api(sim) as client:
        create(client, to="+358401111110", MessagingServiceSid=SERVICE, StatusCallback=receiver.url + "/s")
        posts = receiver.wait_for(4)
    assert [form["MessageStatus"] for _, _, form in posts] == ["queued", "sending", "sent", "undelivered"]
    assert posts[-1][2]["ErrorCode"] == "30005" and posts[-1][2]["MessagingServiceSid"] == SERVICE


def test_faults_nothing_created_for_429_and_503():
    faults = Faults(script=("rate_limit", "unavailable", "ok"), retry_after=7)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults) as sim, api(sim) as client:
        limited, unavailable, created = create(client), create(client), create(client)
        assert (limited.status_code, limited.json()["code"], limited.headers["Retry-After"]) == (429, 20429, "7")
        assert unavailable.status_code == 503
        assert created.status_code == 201
        assert sim.created_per_to() == {TO: 1}


def test_faults_after_create_leave_the_message_behind():
    faults = Faults(per_to={TO: ("server_error", "drop", "hang")}, hang_seconds=1.0)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults) as sim, api(sim) as client:
        assert create(client).status_code == 500
        with pytest.raises(httpx.RemoteProtocolError):
            create(client)
        with pytest.raises(httpx.ReadTimeout):
            client.post("Messages.json", data={"To": TO, "From": SENDER, "Body": "x"}, timeout=0.3)
        assert sim.created_per_to() == {TO: 3}
        assert sim.stats["fault_drop"] == sim.stats["fault_hang"] == sim.stats["fault_server_error"] == 1


def test_fault_rates_are_the_same_for_the_same_seed_whatever_the_order():
    faults = Faults(rate_limit=0.2, unavailable=0.1, drop=0.1, seed=42)
    numbers = [f"+3584000000{i:02d}" for i in range(60)]
    first = [faults.kind(n, to, 1) for n, to in enumerate(numbers, 1)]
    again = [faults.kind(n, to, 1) for n, to in zip(range(60, 0, -1), reversed(numbers))][::-1]
    assert first == again
    assert {"rate_limit", "unavailable", "drop", None} == set(first)
    other_seed = Faults(rate_limit=0.2, unavailable=0.1, drop=0.1, seed=43)
    assert first != [other_seed.kind(n, to, 1) for n, to in enumerate(numbers, 1)]


def test_fault_settings_are_checked():
    with pytest.raises(ValueError):
        Faults(rate_limit=0.8, drop=0.5)
    with pytest.raises(ValueError):
        Faults(script=("explode",))
    with pytest.raises(ValueError):
        Outcome("undelivered")


def test_the_admin_endpoint_shows_what_was_created(sim):
    with api(sim) as client:
        create(client)
        create(client)
    messages = httpx.get(sim.url + "/_sim/messages").json()["messages"]
    stats = httpx.get(sim.url + "/_sim/stats").json()
    assert [m["to"] for m in messages] == [TO, TO]
    assert (stats["created"], stats["per_to_max"], stats["create"]) == (2, 2, 2)


def test_latency_holds_each_answer():
    with TwilioSimulator(ACCOUNT, TOKEN, latency=0.2) as sim, api(sim) as client:
        started = time.perf_counter()
        create(client)
        assert time.perf_counter() - started >= 0.2


def test_only_loopback_hosts_are_served():
    with TwilioSimulator(host="127.0.0.2") as sim:
        assert sim.url.startswith("http://127.0.0.2:")
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(ValueError, match="loopback"):
            TwilioSimulator(host=host)


def test_an_inbound_message_is_posted_signed_as_twilio_posts_it(sim):
    with CallbackReceiver() as receiver:
        url = receiver.url + "/twilio/inbound"
        answer = httpx.post(sim.url + "/_sim/inbound", json={"url": url, "from": TO, "to": SENDER, "body": " stop "})
        assert answer.status_code == 200 and answer.json()["status"] == 204
        assert sim.inbound(url, TO, SENDER, "Hello", service=SERVICE) == 204
        assert httpx.post(sim.url + "/_sim/inbound", json={"url": url}).status_code == 400
        posts = receiver.wait_for(2)
    (_, headers, stop), (_, _, hello) = posts
    assert valid(TOKEN, url, stop, headers["X-Twilio-Signature"])
    assert (stop["From"], stop["To"], stop["Body"], stop["OptOutType"], stop["AccountSid"], stop["FromCountry"]) == (
        TO, SENDER, " stop ", "STOP", ACCOUNT, "FI")
    assert re.fullmatch(r"SM[0-9a-f]{32}", stop["MessageSid"]) and stop["NumSegments"] == "1" and stop["NumMedia"] == "0"
    assert "OptOutType" not in hello and hello["MessagingServiceSid"] == SERVICE and hello["To"] == SENDER
    assert "MessagingServiceSid" not in stop
