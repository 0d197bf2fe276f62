"""The SNS adapter against moto's SNS server on 127.0.0.1, and against a real HTTP
server that answers SNS errors, for the faults moto does not play."""

import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from campaign_pipeline.sending.providers import (
    Accepted, AccountFailure, CannotReconcile, ConfigurationError, NotCreated, ProviderUnavailable, Rejected, Uncertain,
)
from campaign_pipeline.sending.providers.sns import SnsProvider

REGION = "eu-west-1"
TO = "+358401234567"


def aws_env(endpoint):
    return {"AWS_ENDPOINT_URL_SNS": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION}


@pytest.fixture
def sns(moto_endpoint):
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.sms_messages.clear()
    provider = SnsProvider.from_env(aws_env(moto_endpoint))
    yield provider, backend
    provider.close()


def test_publish_is_accepted_as_sent_with_transactional_attributes(sns):
    provider, backend = sns
    outcome = provider.send(TO, "Hei Anna!", "PhotoShop")
    assert isinstance(outcome, Accepted) and outcome.status == "sent" and outcome.segments is None
    assert backend.sms_messages[outcome.provider_id] == (TO, "Hei Anna!")


def test_an_invalid_number_is_rejected(sns):
    provider, backend = sns
    outcome = provider.send("040123", "x", "PhotoShop")
    assert isinstance(outcome, Rejected) and outcome.code == "InvalidParameter" and not outcome.opt_out
    assert backend.sms_messages == {}


def test_an_opted_out_number_is_rejected_as_an_opt_out_without_publishing(sns):
    provider, backend = sns
    outcome = provider.send("+358401234599", "x", "PhotoShop")  # moto: numbers ending in 99 are opted out
    assert outcome == Rejected("OptedOut", "the number opted out of SMS at SNS", opt_out=True)
    assert backend.sms_messages == {}


def test_sns_cannot_reconcile_nor_report_statuses(sns):
    provider, _ = sns
    assert provider.can_reconcile is False
    with pytest.raises(CannotReconcile):
        provider.find_message(TO, "x", "PhotoShop", datetime.now(UTC))
    assert provider.can_poll is False and provider.fetch_status("anything") is None


def test_list_opted_out_reads_every_number(sns):
    provider, backend = sns
    assert list(provider.list_opted_out()) == backend.opt_out_numbers and len(backend.opt_out_numbers) == 8


def test_a_connection_that_cannot_be_opened_is_not_created():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    provider = SnsProvider.from_env(aws_env(f"http://127.0.0.1:{port}"))
    assert isinstance(provider.send(TO, "x", "PhotoShop"), NotCreated)
    with pytest.raises(ProviderUnavailable):
        list(provider.list_opted_out())


def send_xml(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "text/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class ErrorServer:
    """Answers every request with one SNS error (query protocol XML), or never answers."""

    def __init__(self, status, code, hang=False):
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                server.requests += 1
                if hang:
                    server.release.wait(5)
                    return
                body = (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
                        f"<Code>{code}</Code><Message>refused for +358401234567</Message></Error>"
                        f"<RequestId>r-1</RequestId></ErrorResponse>").encode()
                send_xml(self, status, body)

            def log_message(self, *args):
                pass

        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize(("status", "code", "kind"), [
    (429, "Throttled", NotCreated),
    (400, "Throttling", NotCreated),
    (500, "InternalError", Uncertain),
    (503, "ServiceUnavailable", Uncertain),
    (400, "InvalidParameter", Rejected),
    (400, "OptedOut", Rejected),
])
def test_errors_are_classified_and_never_retried_by_botocore(status, code, kind):
    server = ErrorServer(status, code)
    try:
        provider = SnsProvider.from_env(aws_env(server.url), check_opt_out=False)
        outcome = provider.send(TO, "x", "+358451234567")
        assert isinstance(outcome, kind)
        assert server.requests == 1  # one publish, whatever the answer
        if kind is Rejected:
            assert outcome.opt_out == (code == "OptedOut") and "+358401234567" not in outcome.message
    finally:
        server.close()


@pytest.mark.parametrize("code", ["AuthorizationError", "InvalidClientTokenId"])
def test_refused_credentials_fail_the_account(code):
    server = ErrorServer(403, code)
    try:
        with pytest.raises(AccountFailure, match="aws-sns") as failure:
            SnsProvider.from_env(aws_env(server.url)).send(TO, "x", "PhotoShop")
        assert "testing" not in str(failure.value)
    finally:
        server.close()


def test_a_publish_without_an_answer_is_uncertain_and_sent_once():
    server = ErrorServer(200, "", hang=True)
    try:
        provider = SnsProvider.from_env(aws_env(server.url), config=Config(read_timeout=0.5), check_opt_out=False)
        assert isinstance(provider.send(TO, "x", "PhotoShop"), Uncertain)
        assert server.requests == 1
    finally:
        server.close()


def test_a_failed_opt_out_check_publishes_nothing_and_is_not_created():
    server = ErrorServer(500, "InternalError")
    try:
        assert isinstance(SnsProvider.from_env(aws_env(server.url)).send(TO, "x", "PhotoShop"), NotCreated)
        assert server.requests == 1
    finally:
        server.close()


def test_the_region_is_required():
    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        SnsProvider.from_env({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})


def test_list_opted_out_follows_next_token_across_pages():
    """A real HTTP server answering ListPhoneNumbersOptedOut a page at a time (moto
    answers in one page), so the paginator's nextToken is really followed."""
    from urllib.parse import parse_qs

    pages = {"": (["+358401000001", "+358401000002"], "t1"), "t1": (["+358401000003"], "t2"), "t2": ([], None)}
    tokens = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
            token = form.get("nextToken", [""])[0]
            tokens.append(token)
            numbers, following = pages[token]
            members = "".join(f"<member>{n}</member>" for n in numbers)
            more = f"<nextToken>{following}</nextToken>" if following else ""
            body = ('<ListPhoneNumbersOptedOutResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                    f"<ListPhoneNumbersOptedOutResult><phoneNumbers>{members}</phoneNumbers>{more}"
                    "</ListPhoneNumbersOptedOutResult><ResponseMetadata><RequestId>r</RequestId>"
                    "</ResponseMetadata></ListPhoneNumbersOptedOutResponse>").encode()
            send_xml(self, 200, body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        provider = SnsProvider.from_env(aws_env(f"http://127.0.0.1:{server.server_address[1]}"))
        assert list(provider.list_opted_out()) == ["+358401000001", "+358401000002", "+358401000003"]
        assert tokens == ["", "t1", "t2"]
    finally:
        server.shutdown()
        server.server_close()
