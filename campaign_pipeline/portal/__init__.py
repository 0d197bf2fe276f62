"""The portal API: a live reader (PortalClient) and a simulator to test it against.

A plain library: no Dagster here, so the command line and the assets share it.
Every name loads on first use: `python -m campaign_pipeline.portal.simulator`
must not find itself imported already, and reading `portal.defaults` (the
command line's parser does) must not load httpx.
"""

import importlib

_HOMES = {
    "PortalClient": "client",
    "fetch_export_lines_sync": "client",
    "generate_access_keys_sync": "client",
    "AccessKeyFailure": "errors",
    "PortalAuthError": "errors",
    "PortalError": "errors",
    "PortalRequestError": "errors",
    "PortalResponseError": "errors",
    "PortalUnavailable": "errors",
    "Faults": "simulator",
    "PortalSimulator": "simulator",
}

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
    if name in _HOMES:
        return getattr(importlib.import_module(f"campaign_pipeline.portal.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'campaign_pipeline.portal' has no attribute {name!r}")
