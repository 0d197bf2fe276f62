"""POST /twilio/inbound on the real server: replies stored once, STOP and START at
once, HELP answered, unknown senders only logged (sending.md, "Delivery and replies")."""

import httpx
import pytest
from sqlalchemy import select

from campaign_pipeline.sending import suppressions
from campaign_pipeline.sending.db.models import messages, replies
from campaign_pipeline.sending.db.models import suppressions as suppression_rows
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.providers.twilio_simulator import TwilioSimulator
from campaign_pipeline_tests.sending.delivery_fixtures import handed_over_campaign, provider_id
from campaign_pipeline_tests.sending.webhooks.helpers import (
    ACCOUNT, SENDER, SERVICE, TOKEN, WebhookServer, inbound_form,
)

PHONE = "+358401234567"
NO_REPLY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture
def org(engine):
    set_organization(engine, "org-1", {"sender": SENDER, "help_text": 'Photos & prints <Studio "Valo">. STOP ends.'})
    set_organization(engine, "org-2", {"sender": SERVICE})
    return engine


def suppression_of(engine, organization_id, phone):
    with engine.connect() as connection:
        row = connection.execute(select(suppression_rows.c.reason, suppression_rows.c.source).where(
            suppression_rows.c.organization_id == organization_id, suppression_rows.c.phone == phone)).first()
    return None if row is None else tuple(row)


def stored_replies(engine):
    with engine.connect() as connection:
        return [row._asdict() for row in connection.execute(
            select(replies.c.organization_id, replies.c.phone, replies.c.body, replies.c.action,
                   replies.c.message_id, replies.c.provider_message_id).order_by(replies.c.id))]


def test_stop_then_start_from_the_simulator(org, campaign_db_url):
    with WebhookServer(campaign_db_url) as server, TwilioSimulator(ACCOUNT, TOKEN) as sim:
        url = server.url + "/twilio/inbound"
        assert sim.inbound(url, PHONE, SENDER, "  Stop ") == 200
        # Committed before the answer: a dispatcher checking now finds it.
        assert suppression_of(org, "org-1", PHONE)[0] == "stop_reply"
        assert suppression_of(org, "org-2", PHONE) is None  # another organization's sender was not written to
        assert sim.inbound(url, PHONE, SENDER, "start") == 200
        assert suppression_of(org, "org-1", PHONE) is None
        assert sim.inbound(url, PHONE, SENDER, "STOP ALL") == 200
    assert suppression_of(org, "org-1", PHONE)[0] == "stop_reply"
    assert [(r["body"], r["action"]) for r in stored_replies(org)] == [
        ("  Stop ", "stop"), ("start", "start"), ("STOP ALL", "stop")]
    actions = [(e["action"], e["changed"]) for e in server.events("reply_received")]
    assert actions == [("stop", True), ("start", True), ("stop", True)]


def test_start_never_removes_a_suppression_of_another_reason(org, campaign_db_url):
    suppressions.add(org, "org-1", [PHONE], "dnc", "manager")
    with WebhookServer(campaign_db_url) as server:
        server.post("/twilio/inbound", inbound_form(provider_id(), PHONE, "STOP"))
        server.post("/twilio/inbound", inbound_form(provider_id(), PHONE, "UNSTOP"))
    assert suppression_of(org, "org-1", PHONE) == ("dnc", "manager")


def test_help_is_answered_with_the_organizations_text_escaped(org, campaign_db_url):
    with WebhookServer(campaign_db_url) as server:
        answer = server.post("/twilio/inbound", inbound_form(provider_id(), PHONE, "help"))
        default = server.post("/twilio/inbound", inbound_form(provider_id(), PHONE, "INFO", to="+358459999999",
                                                              MessagingServiceSid=SERVICE))
        plain = server.post("/twilio/inbound", inbound_form(provider_id(), PHONE, "Help me choose a print size"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    assert answer.text == ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
                           'Photos &amp; prints &lt;Studio "Valo"&gt;. STOP ends.</Message></Response>')
    assert "<Message>Reply STOP to unsubscribe, START to subscribe again.</Message>" in default.text
    assert plain.text == NO_REPLY
    # The Messaging Service's number found org-2 through MessagingServiceSid.
    assert [(r["organization_id"], r["action"]) for r in stored_replies(org)] == [
        ("org-1", "help"), ("org-2", "help"), ("org-1", None)]


def test_a_reply_is_stored_once_and_linked_to_the_latest_message_to_that_phone(org, campaign_db_url):
    older, _ = handed_over_campaign(org, "org-1", {PHONE: "delivered"})
    newer, _ = handed_over_campaign(org, "org-1", {PHONE: "delivered", "+358409999999": "delivered"})
    handed_over_campaign(org, "org-1", {PHONE: "pending"})  # never handed over: not what they reply to
    handed_over_campaign(org, "org-2", {PHONE: "delivered"})  # another organization's
    sid = provider_id()
    with WebhookServer(campaign_db_url) as server:
        first = server.post("/twilio/inbound", inbound_form(sid, PHONE, "Kiitos! Tilaan kuvat huomenna"))
        again = server.post("/twilio/inbound", inbound_form(sid, PHONE, "Kiitos! Tilaan kuvat huomenna"))
    assert first.status_code == again.status_code == 200 and first.text == again.text == NO_REPLY
    (stored,) = stored_replies(org)
    with org.connect() as connection:
        linked = connection.execute(select(messages.c.campaign_id).where(messages.c.id == stored["message_id"])
                                    ).scalar_one()
    assert linked == newer != older
    assert [e["duplicate"] for e in server.events("reply_received")] == [False, True]


def test_a_message_to_no_organizations_sender_is_answered_and_only_logged(org, campaign_db_url):
    with WebhookServer(campaign_db_url) as server:
        answer = server.post("/twilio/inbound", inbound_form(provider_id(), PHONE, "STOP", to="+358458888888"))
    assert (answer.status_code, answer.text) == (200, NO_REPLY)
    assert stored_replies(org) == [] and suppression_of(org, "org-1", PHONE) is None
    (logged,) = server.events("inbound_unknown_sender")
    assert PHONE not in str(logged)


def test_refused_inbound_requests_store_nothing(org, campaign_db_url):
    form = inbound_form(provider_id(), PHONE, "STOP")
    with WebhookServer(campaign_db_url) as server:
        url = server.url + "/twilio/inbound"
        assert httpx.post(url, data=form).status_code == 403
        assert server.post("/twilio/inbound", form, token="other").status_code == 403
        assert server.post("/twilio/inbound", {**form, "From": "0401234567"}).status_code == 400
        assert server.post("/twilio/inbound", {k: v for k, v in form.items() if k != "Body"}).status_code == 400
        assert server.post("/twilio/inbound", {**form, "Body": "x" * 70_000}).status_code == 413
    assert stored_replies(org) == [] and suppression_of(org, "org-1", PHONE) is None
