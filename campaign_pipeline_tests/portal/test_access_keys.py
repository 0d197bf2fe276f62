"""POST /v1/subjects/{id}/access-key: one per distinct id, permanent refusals per subject."""

import time

import pytest

from campaign_pipeline.portal import (
    AccessKeyFailure,
    Faults,
    PortalAuthError,
    PortalClient,
    PortalSimulator,
    PortalUnavailable,
    generate_access_keys_sync,
)
from campaign_pipeline.portal.simulator import ROUTE_ACCESS_KEY, access_key_for

from campaign_pipeline_tests.builders import job, subject
from campaign_pipeline_tests.portal.helpers import FAST_RETRIES, access_keys, portal_jobs, run

SUBJECTS = ["act-1a-s0", "act-1a-s1", "act-3a-s2"]


def test_one_post_per_distinct_id_and_permanent_refusals_per_subject():
    faults = Faults(access_key_failures={"act-1a-s1": 409})
    with PortalSimulator(portal_jobs(), faults=faults) as portal:
        keys, stats = access_keys(portal.url, ["act-1a-s0", "act-1a-s1", "act-1a-s0", "nobody", "act-3a-s2"])
        posts = portal.stats["routes"][ROUTE_ACCESS_KEY]

    assert keys == {
        "act-1a-s0": access_key_for("act-1a-s0"),
        "act-1a-s1": AccessKeyFailure(409),
        "nobody": AccessKeyFailure(404),
        "act-3a-s2": access_key_for("act-3a-s2"),
    }
    assert list(keys) == ["act-1a-s0", "act-1a-s1", "nobody", "act-3a-s2"]  # first-seen order
    assert posts == stats["requests"] == 4


def test_keys_are_idempotent_and_an_existing_key_is_returned():
    subjects = [subject("has-key", "act-1", access_key="AK-EXISTING"), subject("no-key", "act-1")]
    jobs = [job("job-1", "webshop_selling", [{"id": "act-1", "job_id": "job-1", "name": "A", "subjects": subjects}])]
    with PortalSimulator(jobs) as portal:
        first = generate_access_keys_sync(portal.url, "sim-token", ["has-key", "no-key"])
        second = generate_access_keys_sync(portal.url, "sim-token", ["no-key", "has-key"])

    assert first == second == {"has-key": "AK-EXISTING", "no-key": access_key_for("no-key")}


def test_transient_failures_are_retried_per_subject():
    faults = Faults(drop_first=1, error_first=1, rate_limit_first=1)
    with PortalSimulator(portal_jobs(), faults=faults) as portal:
        keys, stats = access_keys(portal.url, SUBJECTS, **FAST_RETRIES)

    assert keys == {subject_id: access_key_for(subject_id) for subject_id in SUBJECTS}
    assert stats == {"requests": 12, "retries": 9, "rate_limited": 3}


def test_a_wrong_token_raises():
    with PortalSimulator(portal_jobs()) as portal:
        with pytest.raises(PortalAuthError, match=r"^POST /v1/subjects/[^/]+/access-key: 401 Unauthorized"):
            access_keys(portal.url, SUBJECTS, token="not-the-token")


def test_a_401_for_one_subject_cancels_the_others_cleanly():
    ids = ["act-3a-s0", "act-3a-s1", "act-3a-s2", "act-3a-s3", "act-1a-s0", "act-1a-s1", "act-1a-s2", "act-1a-s3"]
    faults = Faults(access_key_failures={"act-1a-s0": 401})
    with PortalSimulator(portal_jobs(), latency=0.02, faults=faults) as portal:
        with pytest.raises(PortalAuthError, match="act-1a-s0"):
            access_keys(portal.url, ids, concurrency=4)


def test_transient_failures_outliving_the_retries_raise():
    with PortalSimulator(portal_jobs(), faults=Faults(error_first=10**6)) as portal:
        with pytest.raises(PortalUnavailable, match=r"still failing after 3 attempts$"):
            access_keys(portal.url, SUBJECTS, max_attempts=3, **FAST_RETRIES)


def test_the_rate_limit_spaces_requests():
    with PortalSimulator(portal_jobs()) as portal:
        started = time.monotonic()
        access_keys(portal.url, [f"act-3a-s{n}" for n in range(4)] + [f"act-1a-s{n}" for n in range(5)],
                    requests_per_second=40)
        elapsed = time.monotonic() - started

    assert elapsed >= 8 / 40


def test_no_ids_no_requests():
    with PortalSimulator(portal_jobs()) as portal:
        assert access_keys(portal.url, []) == ({}, {"requests": 0, "retries": 0, "rate_limited": 0})
        assert portal.stats["requests"] == 0


def test_the_client_must_be_opened():
    async def unopened():
        await PortalClient("http://127.0.0.1:9", "t").generate_access_keys(["s"])

    with pytest.raises(RuntimeError, match="async with"):
        run(unopened)
