"""Retries: transient faults change nothing, lasting ones and a wrong token end the read."""

import time

import pytest

from campaign_pipeline.portal import (
    Faults,
    PortalAuthError,
    PortalClient,
    PortalRequestError,
    PortalSimulator,
    PortalUnavailable,
)
from campaign_pipeline_tests.portal.helpers import (
    FAST_RETRIES,
    export_lines,
    fetch,
    portal_jobs,
    requests_needed,
    run,
    selling,
)

WRONG_TOKEN = "wrong-secret-3f9a"


def read_failing(url, token="sim-token", **options):
    """The error a read ends with, and the client's counters."""
    client = PortalClient(url, token, **options)

    async def read():
        async with client:
            with pytest.raises(Exception) as failure:
                await client.fetch_export_lines()
            return failure.value

    return run(read), client.stats


def test_drops_429s_and_5xx_on_every_path_give_the_lines_of_a_clean_read():
    jobs = portal_jobs()
    faults = Faults(drop_first=1, rate_limit_first=1, retry_after=0, error_first=2)
    with PortalSimulator(jobs, page_limit_max=2, faults=faults) as portal:
        lines, stats = fetch(portal.url, concurrency=8, **FAST_RETRIES)
        served = portal.stats

    assert lines == export_lines(selling(jobs))
    paths = 1 + 3 + 6  # the jobs list, 3 activity lists, 6 subject lists
    assert served["faults"] == {"drop": paths, "rate_limit": paths, "error": 2 * paths}
    assert stats["retries"] == 4 * paths
    assert stats["rate_limited"] == paths
    assert stats["requests"] == served["requests"]


def test_every_kth_faults_change_nothing_and_their_count_is_known_in_advance():
    # Every request number gets one outcome, so however requests interleave,
    # the read takes the first T requests of which exactly the needed number succeed.
    jobs = portal_jobs()
    faults = Faults(error_every=4, drop_every=9, rate_limit_every=11)
    with PortalSimulator(jobs, page_limit_max=2, faults=faults) as portal:
        lines, stats = fetch(portal.url, concurrency=4, max_attempts=20, **FAST_RETRIES)
        served = portal.stats

    assert lines == export_lines(selling(jobs))
    needed = requests_needed(jobs, 2)
    kinds = [faults.kind(number, path_number=1) for number in range(1, 200)]
    total = next(t for t in range(1, 200) if t - sum(k is not None for k in kinds[:t]) == needed)
    assert served["requests"] == stats["requests"] == total
    assert served["faults"] == {kind: kinds[:total].count(kind) for kind in ("drop", "rate_limit", "error")}
    assert stats["retries"] == total - needed


def test_429_waits_at_least_retry_after_seconds():
    with PortalSimulator(portal_jobs(), faults=Faults(rate_limit_first=1, retry_after=1)) as portal:
        started = time.monotonic()
        lines, stats = fetch(portal.url, job_ids=["job-5"], backoff_base=0.0)
        elapsed = time.monotonic() - started

    assert lines == export_lines([portal_jobs()[4]])
    assert stats == {"requests": 4, "retries": 2, "rate_limited": 2}  # the job, then its activities
    assert elapsed >= 2.0


@pytest.mark.parametrize("faults", [Faults(), Faults(wrong_token=True)], ids=["wrong-token", "portal-refuses"])
def test_a_wrong_token_fails_at_once_naming_the_endpoint_never_the_token(faults):
    token = "sim-token" if faults.wrong_token else WRONG_TOKEN
    with PortalSimulator(portal_jobs(), faults=faults) as portal:
        error, stats = read_failing(portal.url, token)
        served = portal.stats["requests"]

    assert isinstance(error, PortalAuthError)
    assert str(error) == "GET /v1/jobs: 401 Unauthorized (check PORTAL_TOKEN)"
    assert token not in str(error) and token not in repr(error)
    assert served == stats["requests"] == 1
    assert stats["retries"] == 0


@pytest.mark.parametrize("faults, failure", [
    (Faults(error_first=10**6, error_statuses=(503,)), "503 Service Unavailable"),
    (Faults(drop_first=10**6), "RemoteProtocolError"),
    (Faults(rate_limit_first=10**6), "429 Too Many Requests"),
], ids=["5xx", "drops", "429"])
def test_lasting_transient_failures_exhaust_the_retries_in_bounded_time(faults, failure):
    with PortalSimulator(portal_jobs(), faults=faults) as portal:
        started = time.monotonic()
        error, stats = read_failing(portal.url, max_attempts=4, backoff_base=0.01, backoff_max=0.02)
        elapsed = time.monotonic() - started
        served = portal.stats["requests"]

    assert isinstance(error, PortalUnavailable)
    assert str(error) == f"GET /v1/jobs: {failure}, still failing after 4 attempts"
    assert served == stats["requests"] == 4
    assert stats["retries"] == 3
    assert elapsed < 2.0


def test_an_unreachable_portal_is_unavailable():
    with PortalSimulator([]) as portal:
        url = portal.url
    error, stats = read_failing(url, max_attempts=2, **FAST_RETRIES)
    assert isinstance(error, PortalUnavailable)
    assert str(error) == "GET /v1/jobs: ConnectError, still failing after 2 attempts"


def test_a_failure_mid_read_cancels_the_requests_in_flight_cleanly():
    # The read needs 17 requests; the 10th gets a 5xx with no second attempt while
    # up to 7 others are in flight (numbered 17 at most, so no second fault).
    # `run` fails the test on leftover tasks, unretrieved exceptions, open sockets.
    jobs = portal_jobs()
    assert requests_needed(jobs, 2) == 17
    with PortalSimulator(jobs, page_limit_max=2, latency=0.02, faults=Faults(error_every=10)) as portal:
        error, stats = read_failing(portal.url, concurrency=8, max_attempts=1)
        served = portal.stats

    assert isinstance(error, PortalUnavailable)
    assert 10 <= stats["requests"] <= 17
    assert served["faults"] == {"error": 1}


def test_a_permanent_4xx_on_a_read_fails_at_once():
    with PortalSimulator(portal_jobs()) as portal:
        error, stats = read_failing(portal.url + "/wrong-prefix")  # every path is 404 there

    assert isinstance(error, PortalRequestError)
    assert str(error) == "GET /v1/jobs: 404 Not Found"
    assert stats == {"requests": 1, "retries": 0, "rate_limited": 0}


def test_a_portal_too_slow_to_answer_times_out_as_unavailable():
    with PortalSimulator(portal_jobs(), latency=0.3) as portal:
        error, stats = read_failing(portal.url, timeout=0.05, max_attempts=2, **FAST_RETRIES)

    assert isinstance(error, PortalUnavailable)
    assert str(error) == "GET /v1/jobs: ReadTimeout, still failing after 2 attempts"
