"""Which URL the server checks the signature over: the contract's two examples
(provider-twilio.md, "Signature"), reached through the base URL and through Host."""

import pytest

from campaign_pipeline.sending.providers.twilio_signature import valid
from campaign_pipeline.sending.webhooks.app import signed_url

FIELDS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
          "From": "+12349013030", "To": "+18005551212"}
EXAMPLES = [(FIELDS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            ({**FIELDS, "Caller": "+14158675309", "From": "+14158675309"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")]


def scope(path="/myapp.php", query=b"foo=1&bar=2", scheme="http"):
    return {"type": "http", "scheme": scheme, "path": path, "raw_path": path.encode(), "query_string": query}


@pytest.mark.parametrize(("fields", "signature"), EXAMPLES)
def test_the_contracts_examples_through_the_base_url(fields, signature):
    # The server saw http://127.0.0.1:8090/myapp.php?foo=1&bar=2 behind a proxy; Twilio called mycompany.com.
    url = signed_url("https://mycompany.com", scope(), "127.0.0.1:8090")
    assert url == "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert valid("12345", url, fields, signature)
    assert not valid("12345", signed_url("https://mycompany.org", scope(), None), fields, signature)


@pytest.mark.parametrize(("fields", "signature"), EXAMPLES)
def test_the_contracts_examples_through_the_host_the_request_came_with(fields, signature):
    url = signed_url(None, scope(scheme="https"), "mycompany.com")
    assert valid("12345", url, fields, signature)
    assert not valid("12345", signed_url(None, scope(scheme="http"), "mycompany.com"), fields, signature)


def test_the_path_and_query_are_taken_as_received_still_encoded():
    raw = {**scope(), "path": "/a b", "raw_path": b"/a%20b", "query_string": b"x=%2B1&y"}
    assert signed_url("https://h.example", raw, None) == "https://h.example/a%20b?x=%2B1&y"
    assert signed_url(None, {**scope(query=b"")}, "h.example:8443") == "http://h.example:8443/myapp.php"
