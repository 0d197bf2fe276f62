"""The provider a run uses, chosen by SMS_PROVIDER (sending.md, "Sending")."""

from __future__ import annotations

from collections.abc import Mapping

from campaign_pipeline.sending.providers.base import ConfigurationError, Provider

PROVIDERS = ("proof", "twilio", "aws-sns")
DEFAULT_PROVIDER = "proof"


def provider_from_env(env: Mapping[str, str]) -> Provider:
    """`proof` (the default), `twilio` or `aws-sns`; raises ConfigurationError naming
    an unknown value or the first missing variable. Adapters load only when chosen,
    so a proof run never imports httpx's client or boto3."""
    name = (env.get("SMS_PROVIDER") or DEFAULT_PROVIDER).strip()
    if name == "proof":
        from campaign_pipeline.sending.providers.proof import ProofProvider

        return ProofProvider()
    if name == "twilio":
        from campaign_pipeline.sending.providers.twilio import TwilioProvider

        return TwilioProvider.from_env(env)
    if name == "aws-sns":
        from campaign_pipeline.sending.providers.sns import SnsProvider

        return SnsProvider.from_env(env)
    raise ConfigurationError(f"SMS_PROVIDER={name!r} is not a provider: one of {', '.join(PROVIDERS)}")
