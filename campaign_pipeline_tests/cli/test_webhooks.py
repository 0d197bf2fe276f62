"""`campaign-cli webhooks`: what it needs before it listens, and how it stops."""

import socket

import httpx

from campaign_pipeline_tests.cli.helpers import logs, run, usage_error
from campaign_pipeline_tests.sending.campaign_fixtures import engine  # noqa: F401 (the fixture)
from campaign_pipeline_tests.sending.delivery_fixtures import handed_over_campaign, message_rows
from campaign_pipeline_tests.sending.webhooks.helpers import WebhookServer, status_form


def test_without_an_auth_token_it_refuses_to_start(campaign_db_url):
    assert "TWILIO_AUTH_TOKEN" in usage_error(run(campaign_db_url, "webhooks", "--port", "0"))


def test_a_base_url_that_is_no_http_url_is_a_usage_error(campaign_db_url, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    for bad in ("hooks.example.com", "ftp://hooks.example.com", "https://hooks.example.com/?a=1"):
        monkeypatch.setenv("CAMPAIGN_WEBHOOK_BASE_URL", bad)
        assert "CAMPAIGN_WEBHOOK_BASE_URL" in usage_error(run(campaign_db_url, "webhooks", "--port", "0"))
    monkeypatch.delenv("CAMPAIGN_WEBHOOK_BASE_URL")
    assert "--workers" in usage_error(run(campaign_db_url, "webhooks", "--port", "0", "--workers", "0"))


def test_a_port_outside_0_to_65535_is_a_usage_error_naming_port(campaign_db_url, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    for port in ("99999", "65537", "-5", "eighty"):  # the socket layer would wrap the first two around
        message = usage_error(run(campaign_db_url, "webhooks", "--port", port, timeout=60))
        assert "--port" in message and "65535" in message, message


def test_a_port_in_use_is_one_error_line_and_exit_1(campaign_db_url, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run(campaign_db_url, "webhooks", "--port", taken.getsockname()[1])
    assert result.returncode == 1
    (entry,) = logs(result.stderr)
    assert entry["event"] == "run_failed" and "cannot listen" in entry["message"]


def test_two_workers_share_the_port_and_stop_on_sigterm(engine, campaign_db_url):  # noqa: F811
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401234567": "sent", "+358407654321": "sent"})
    with WebhookServer(campaign_db_url, workers=2) as server, httpx.Client() as client:
        for phone, sid in sids.items():  # a new connection each: the kernel spreads them over the workers
            assert server.post("/twilio/status", status_form(sid, "delivered", to=phone)).status_code == 204
        assert client.get(server.url + "/healthz").status_code == 200
    assert set(message_rows(engine, campaign_id).values()) == {("delivered", None)}
    assert server.returncode == 0
    assert [e["event"] for e in server.logs][-1] == "webhooks_stopped"
