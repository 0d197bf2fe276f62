import random

import pytest

from campaign_pipeline.http.retry import backoff_delay, retry_after_seconds


@pytest.mark.parametrize("value, seconds", [("3", 3.0), (" 0 ", 0.0), ("120", 120.0)])
def test_retry_after_in_seconds_is_read(value, seconds):
    assert retry_after_seconds(value) == seconds


@pytest.mark.parametrize("value", [None, "", "soon", "-1", "1.5", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_retry_after_that_is_not_whole_seconds_is_none(value):
    # The HTTP-date form is not honoured: the caller falls back to its backoff.
    assert retry_after_seconds(value) is None


def test_backoff_is_full_jitter_under_a_doubling_cap():
    rng = random.Random(7)
    for attempt, ceiling in enumerate([0.2, 0.4, 0.8, 1.6]):
        draws = [backoff_delay(attempt, 0.2, 10.0, rng) for _ in range(2000)]
        assert 0 <= min(draws) < ceiling * 0.05 and ceiling * 0.95 < max(draws) <= ceiling


def test_backoff_never_exceeds_its_cap():
    rng = random.Random(1)
    assert max(backoff_delay(30, 0.2, 10.0, rng) for _ in range(2000)) <= 10.0
    assert max(backoff_delay(30, 0.2, 10.0, rng) for _ in range(2000)) > 9.0


def test_backoff_draws_from_the_callers_generator():
    assert backoff_delay(3, 0.2, 10.0, random.Random(5)) == backoff_delay(3, 0.2, 10.0, random.Random(5))
