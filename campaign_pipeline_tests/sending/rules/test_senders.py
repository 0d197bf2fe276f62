"""The shapes of an organization's sender (rules/senders.py)."""

import pytest

from campaign_pipeline.sending.rules.senders import ALPHANUMERIC, MESSAGING_SERVICE, PHONE, sender_kind


@pytest.mark.parametrize(("sender", "kind"), [
    ("+358401234567", PHONE),
    ("+1800555012", PHONE),
    ("Photos", ALPHANUMERIC),
    ("Kuva Oy 24", ALPHANUMERIC),  # 10 characters with spaces
    ("MG" + "0123456789abcdef" * 2, MESSAGING_SERVICE),
    ("MG" + "0123456789ABCDEF" * 2, MESSAGING_SERVICE),
])
def test_each_shape_is_told(sender, kind):
    assert sender_kind(sender) == kind


@pytest.mark.parametrize("sender", [
    "", None, "358401234567", "+0401234567", "+12345", "+1234567890123456",  # no plus, leading 0, too short, too long
    "123456", "Twelve chars", "Kuva-Oy", "MG" + "0" * 31, "MG" + "g" * 32, "MG" + "0" * 33,
])
def test_anything_else_is_no_sender(sender):
    assert sender_kind(sender) is None
