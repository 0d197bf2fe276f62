"""What an organization's sender is: the one place its shapes are written.

An E.164 number, an alphanumeric sender id (at most 11 letters, digits or spaces,
at least one letter) or a Twilio Messaging Service id (MG + 32 hex digits). The
organization command accepts exactly these; each provider reads the kind to know
which field carries it (Twilio `From` or `MessagingServiceSid`; SNS
`OriginationNumber` or `SenderID`).
"""

import re

PHONE, ALPHANUMERIC, MESSAGING_SERVICE = "phone", "alphanumeric", "messaging_service"

_SHAPES = (
    (PHONE, re.compile(r"\+[1-9][0-9]{6,14}")),
    (ALPHANUMERIC, re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")),
    (MESSAGING_SERVICE, re.compile(r"MG[0-9a-fA-F]{32}")),
)


def sender_kind(sender: str | None) -> str | None:
    """PHONE, ALPHANUMERIC or MESSAGING_SERVICE; None for anything else."""
    for kind, shape in _SHAPES:
        if shape.fullmatch(sender or ""):
            return kind
    return None
