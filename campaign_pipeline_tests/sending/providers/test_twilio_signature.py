"""X-Twilio-Signature: the two examples of provider-twilio.md, and what must not pass."""

from campaign_pipeline.sending.providers.twilio_signature import sign, valid

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
FIELDS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
          "From": "+12349013030", "To": "+18005551212"}


def test_the_contract_example():
    assert sign("12345", URL, FIELDS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_example_of_twilios_python_library():
    fields = {**FIELDS, "Caller": "+14158675309", "From": "+14158675309"}
    assert sign("12345", URL, fields) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_fields_are_sorted_by_name_whatever_order_they_come_in():
    assert sign("12345", URL, list(reversed(FIELDS.items()))) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_valid_accepts_the_signature_and_refuses_any_change():
    assert valid("12345", URL, FIELDS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid("12345", URL, FIELDS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ")
    assert not valid("54321", URL, FIELDS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid("12345", URL + "&x=1", FIELDS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid("12345", URL, {**FIELDS, "Digits": "1235"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid("12345", URL, FIELDS, None)
    assert not valid("12345", URL, FIELDS, "")
    assert not valid("12345", URL, FIELDS, "ä non-ascii signature")
