"""TwiML answers to inbound messages (provider-twilio.md, "Callbacks to the product")."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

CONTENT_TYPE = "text/xml; charset=utf-8"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
NO_REPLY = _DECLARATION + "<Response/>"
# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def reply(text: str) -> str:
    """`<Response><Message>text</Message></Response>`, the text escaped."""
    return f"{_DECLARATION}<Response><Message>{escape(_NOT_XML.sub('', text))}</Message></Response>"
