"""The proof provider and the choice by SMS_PROVIDER."""

from datetime import UTC, datetime

import pytest

from campaign_pipeline.sending.providers import (
    Accepted, ConfigurationError, DeliveryStatus, NotCreated, Provider, provider_from_env, retry_delay,
)
from campaign_pipeline.sending.providers.proof import ProofProvider
from campaign_pipeline.sending.providers.sns import SnsProvider
from campaign_pipeline.sending.providers.twilio import TwilioProvider


def test_proof_accepts_every_message_at_once_as_delivered_with_its_own_id():
    proof = ProofProvider()
    first, second = proof.send("+358401234567", "x", "Shop"), proof.send("+358401234567", "x", "Shop")
    assert isinstance(first, Accepted) and first.status == "delivered"
    assert first.provider_id.startswith("proof-") and first.provider_id != second.provider_id
    assert proof.find_message("+358401234567", "x", "Shop", datetime.now(UTC)) is None
    assert proof.can_poll and proof.fetch_status(first.provider_id) == DeliveryStatus("delivered", None)
    assert proof.fetch_status("SMx") is None


def test_proof_ids_are_unique_across_providers_and_follow_each_other_within_one():
    # provider_message_id is a unique column: two processes (two providers) never share an id.
    first, second = ProofProvider(), ProofProvider()
    ids = first.accept_all(3) + [first.send("+358401234567", "x", "Shop").provider_id] + second.accept_all(3)
    assert len(set(ids)) == 7 and all(i.startswith("proof-") for i in ids)
    assert ids[:4] == sorted(ids[:4])  # one run's ids in order: one place in the unique index


def test_proof_is_the_default_and_every_adapter_is_a_provider():
    assert isinstance(provider_from_env({}), ProofProvider)
    assert isinstance(provider_from_env({"SMS_PROVIDER": "proof"}), ProofProvider)
    twilio = provider_from_env({"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})
    sns = provider_from_env({"SMS_PROVIDER": "aws-sns", "AWS_REGION": "eu-west-1"})
    assert isinstance(twilio, TwilioProvider) and isinstance(sns, SnsProvider)
    for provider in (ProofProvider(), twilio, sns):
        assert isinstance(provider, Provider)
        provider.close()


def test_an_unknown_provider_or_a_missing_variable_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="'smtp'"):
        provider_from_env({"SMS_PROVIDER": "smtp"})
    with pytest.raises(ConfigurationError, match="TWILIO_ACCOUNT_SID"):
        provider_from_env({"SMS_PROVIDER": "twilio"})


def test_retry_delay_honours_retry_after_else_full_jitter_under_a_growing_cap():
    import random

    rng = random.Random(1)
    assert retry_delay(NotCreated(7.0, "429"), 0, rng) == 7.0
    delays = [retry_delay(NotCreated(None, "refused"), attempt, rng) for attempt in range(8) for _ in range(50)]
    assert all(0 <= d <= 30 for d in delays)
    assert max(delays[:50]) <= 0.5 < max(delays[-50:])
