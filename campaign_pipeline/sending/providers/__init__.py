"""SMS provider adapters behind one interface (base.Provider): proof, Twilio, Amazon SNS.

Adapters do I/O and classify; the dispatcher owns the ledger and the retries.
"""

from campaign_pipeline.sending.providers.base import (
    Accepted,
    AccountFailure,
    CannotReconcile,
    ConfigurationError,
    DeliveryStatus,
    NotCreated,
    Provider,
    ProviderError,
    ProviderMessage,
    ProviderUnavailable,
    RateLimited,
    Rejected,
    SendOutcome,
    Uncertain,
    retry_delay,
)
from campaign_pipeline.sending.providers.select import provider_from_env

__all__ = [
    "Accepted", "AccountFailure", "CannotReconcile", "ConfigurationError", "DeliveryStatus", "NotCreated", "Provider",
    "ProviderError", "ProviderMessage", "ProviderUnavailable", "RateLimited", "Rejected", "SendOutcome", "Uncertain",
    "provider_from_env", "retry_delay",
]
