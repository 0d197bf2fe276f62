"""Requests really overlap, never beyond the bound. Measured by the simulator's peak
of requests in flight rather than by wall time, so that a busy machine cannot flake it."""

from campaign_pipeline.portal import PortalSimulator

from campaign_pipeline_tests.builders import activity, job
from campaign_pipeline_tests.portal.helpers import access_keys, export_lines, fetch, selling

# Latencies are long next to the time it takes to send a request, even on a busy
# machine: every request of a round is sent before the first of them is answered.
SUBJECT_IDS = [f"act-1-s{n}" for n in range(64)]


def one_activity_portal():
    return [job("job-1", "webshop_selling", [activity("act-1", "job-1", 64)])]


def test_independent_requests_fill_the_concurrency():
    with PortalSimulator(one_activity_portal(), latency=0.1) as portal:
        keys, _ = access_keys(portal.url, SUBJECT_IDS[:16], concurrency=8)
        peak = portal.stats["peak_in_flight"]

    assert len(keys) == 16
    assert peak == 8


def test_the_simulator_serves_64_requests_at_once():
    with PortalSimulator(one_activity_portal(), latency=0.5) as portal:
        keys, _ = access_keys(portal.url, SUBJECT_IDS, concurrency=64)
        peak = portal.stats["peak_in_flight"]

    assert len(keys) == 64
    assert peak == 64


def test_one_at_a_time_is_one_at_a_time():
    with PortalSimulator(one_activity_portal(), latency=0.01) as portal:
        access_keys(portal.url, SUBJECT_IDS[:5], concurrency=1)
        assert portal.stats["peak_in_flight"] == 1


def test_a_read_overlaps_lists_without_exceeding_the_bound():
    # 12 jobs of 2 activities of 3 subjects, 2 items a page: the jobs list alone is
    # 6 pages in a row, so only reading activities and subjects meanwhile fills 6 slots.
    jobs = [job(f"job-{j:02d}", "webshop_selling", [activity(f"act-{j:02d}-{a}", f"job-{j:02d}", 3) for a in range(2)])
            for j in range(12)]
    with PortalSimulator(jobs, page_limit_max=2, latency=0.05) as portal:
        lines, _ = fetch(portal.url, concurrency=6)
        peak = portal.stats["peak_in_flight"]

    assert lines == export_lines(selling(jobs))
    assert peak == 6


def test_work_starts_as_soon_as_it_is_known():
    # Lists are read page after page, 150 ms a page: what is found on a first page
    # is asked for long before the same list's third page can be. (The margin is
    # wide because the log records a request when a server thread gets to it.)
    jobs = [job(f"job-{j}", "webshop_selling", [activity(f"act-{j}-{a}", f"job-{j}", 1) for a in range(5)])
            for j in range(5)]
    with PortalSimulator(jobs, page_limit_max=2, latency=0.15) as portal:
        lines, _ = fetch(portal.url, concurrency=16)
        log = [path for _, path in portal.request_log]

    assert lines == export_lines(selling(jobs))
    third_jobs_page = [i for i, path in enumerate(log) if path == "/v1/jobs"][2]
    assert log.index("/v1/jobs/job-0/activities") < third_jobs_page
    third_activities_page = [i for i, path in enumerate(log) if path == "/v1/jobs/job-0/activities"][2]
    assert log.index("/v1/activities/act-0-0/subjects") < third_activities_page
