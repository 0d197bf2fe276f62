"""What the webhook server trusts behind a reverse proxy (docs/webhooks.md), over
real HTTP: the URL Twilio signed is CAMPAIGN_WEBHOOK_BASE_URL whatever the
headers say; without it, the Host header and X-Forwarded-Proto from a proxy on
127.0.0.1, never X-Forwarded-Host."""

from urllib.parse import urlencode

import httpx

from campaign_pipeline.sending.providers.twilio_signature import sign
from campaign_pipeline_tests.sending.delivery_fixtures import handed_over_campaign, message_rows
from campaign_pipeline_tests.sending.webhooks.helpers import TOKEN, WebhookServer, status_form

PHONE = "+358401234567"
PUBLIC = "https://hooks.example.com"
# What nginx's `proxy_set_header` lines of docs/webhooks.md send along.
NGINX = {"Host": "hooks.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def post(server: WebhookServer, form: dict, signed_for: str, headers: dict) -> int:
    return httpx.post(server.url + "/twilio/status", content=urlencode(form), timeout=30, headers={
        **headers, "X-Twilio-Signature": sign(TOKEN, signed_for, form),
        "Content-Type": "application/x-www-form-urlencoded"}).status_code


def test_without_a_base_url_the_host_and_forwarded_proto_of_the_proxy_make_the_url(engine, campaign_db_url):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {PHONE: "sent"})
    signed_for = PUBLIC + "/twilio/status"
    with WebhookServer(campaign_db_url) as server:
        without_proto = {key: value for key, value in NGINX.items() if key != "X-Forwarded-Proto"}
        assert post(server, status_form(sids[PHONE], "sending"), signed_for, without_proto) == 403  # http://…
        forwarded_host = {"X-Forwarded-Host": "hooks.example.com", "X-Forwarded-Proto": "https"}
        assert post(server, status_form(sids[PHONE], "sending"), signed_for, forwarded_host) == 403  # not trusted
        assert message_rows(engine, campaign_id) == {PHONE: ("sent", None)}
        assert post(server, status_form(sids[PHONE], "delivered"), signed_for, NGINX) == 204
    assert message_rows(engine, campaign_id) == {PHONE: ("delivered", None)}
    assert [e["reason"] for e in server.events("webhook_refused")] == ["bad signature", "bad signature"]


def test_with_a_base_url_the_headers_change_nothing(engine, campaign_db_url):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {PHONE: "sent"})
    with WebhookServer(campaign_db_url, base_url=PUBLIC) as server:
        spoofed = {"Host": "evil.example", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"}
        assert post(server, status_form(sids[PHONE], "sending"), "http://evil.example/twilio/status", spoofed) == 403
        # A base URL that differs from what Twilio called by its scheme alone: 403 too.
        assert post(server, status_form(sids[PHONE], "sending"), "http://hooks.example.com/twilio/status",
                    NGINX) == 403
        assert post(server, status_form(sids[PHONE], "delivered"), PUBLIC + "/twilio/status", spoofed) == 204
    assert message_rows(engine, campaign_id) == {PHONE: ("delivered", None)}
