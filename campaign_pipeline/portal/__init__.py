"""The portal API: a live reader (PortalClient) and a simulator to test it against.

A plain library: no Dagster here, so the command line and the assets share it.
The simulator loads on first use, so that `python -m
campaign_pipeline.portal.simulator` does not find itself imported already.
"""

from campaign_pipeline.portal.client import (
    PortalClient,
    fetch_export_lines_sync,
    generate_access_keys_sync,
)
from campaign_pipeline.portal.errors import (
    AccessKeyFailure,
    PortalAuthError,
    PortalError,
    PortalRequestError,
    PortalResponseError,
    PortalUnavailable,
)

__all__ = [
    "AccessKeyFailure",
    "Faults",
    "PortalAuthError",
    "PortalClient",
    "PortalError",
    "PortalRequestError",
    "PortalResponseError",
    "PortalSimulator",
    "PortalUnavailable",
    "fetch_export_lines_sync",
    "generate_access_keys_sync",
]


def __getattr__(name: str):
    if name in ("Faults", "PortalSimulator"):
        from campaign_pipeline.portal import simulator

        return getattr(simulator, name)
    raise AttributeError(f"module 'campaign_pipeline.portal' has no attribute {name!r}")
