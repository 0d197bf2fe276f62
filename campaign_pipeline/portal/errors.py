"""What can go wrong when talking to the portal.

Every message is one line naming the method and the endpoint path, e.g.
`GET /v1/activities/act-1/subjects: 401 Unauthorized (check PORTAL_TOKEN)`.
Messages never carry the token, a response body or personal data: ids are
opaque portal ids, and bodies are never read into an error.
"""

from dataclasses import dataclass


class PortalError(Exception):
    """Base of every failure that ends a portal read (the command line exits 1)."""


class PortalAuthError(PortalError):
    """401: the token is missing or wrong. Never retried."""


class PortalRequestError(PortalError):
    """A permanent refusal (a 4xx other than 401/429, or an unexpected status)."""


class PortalResponseError(PortalError):
    """A 200 whose body is not what portal-api.yaml promises (not JSON, no page)."""


class PortalUnavailable(PortalError):
    """Transient failures (5xx, 429, timeouts, dropped connections) outlived the retries."""


@dataclass(frozen=True, slots=True)
class AccessKeyFailure:
    """A permanent refusal to give one subject an access key (404, 409, other 4xx)."""

    status: int
