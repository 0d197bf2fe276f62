"""Reading the portal into export lines: a clean read, job ids, repeats, malformed items."""

import orjson

from campaign_pipeline.portal import Faults, PortalSimulator, fetch_export_lines_sync
from campaign_pipeline.portal.simulator import ROUTE_ACCESS_KEY, ROUTE_JOB, ROUTE_JOBS

from campaign_pipeline_tests.builders import activity, job, subject
from campaign_pipeline_tests.portal.helpers import export_lines, fetch, portal_jobs, requests_needed, selling


def test_a_clean_read_gives_the_selling_jobs_exactly_with_no_request_to_spare():
    jobs = portal_jobs()
    with PortalSimulator(jobs, page_limit_max=2) as portal:
        lines, stats = fetch(portal.url)
        served = portal.stats

    assert lines == export_lines(selling(jobs))
    assert stats == {"requests": requests_needed(jobs, 2), "retries": 0, "rate_limited": 0}
    assert served["requests"] == stats["requests"]
    assert ROUTE_ACCESS_KEY not in served["routes"]  # reading never changes the portal


def test_the_page_limit_is_asked_for_on_every_list():
    jobs = portal_jobs()
    with PortalSimulator(jobs) as portal:
        lines, stats = fetch(portal.url, page_limit=2)

    assert lines == export_lines(selling(jobs))
    assert stats["requests"] == requests_needed(jobs, 2)


def test_job_ids_read_only_those_jobs_skipping_missing_and_non_selling_ones():
    jobs = portal_jobs()
    by_id = {j["id"]: j for j in jobs}
    with PortalSimulator(jobs, page_limit_max=2) as portal:
        lines, _ = fetch(portal.url, job_ids=["job-3", "no-such-job", "job-2", "job-1", "job-3"])
        served = portal.stats

    assert lines == export_lines([by_id["job-3"], by_id["job-1"]])
    assert served["routes"][ROUTE_JOB] == 4  # one GET per distinct id
    assert ROUTE_JOBS not in served["routes"]  # other jobs are not even listed
    assert served["requests"] == 4 + requests_needed([by_id["job-3"], by_id["job-1"]], 2, listed=False)


def test_an_id_with_a_slash_stays_one_path_segment():
    jobs = [job("org/job 1", "webshop_selling", [activity("act/1", "org/job 1", 3)])]
    with PortalSimulator(jobs, page_limit_max=2) as portal:
        assert fetch(portal.url)[0] == export_lines(jobs)
        assert fetch(portal.url, job_ids=["org/job 1"])[0] == export_lines(jobs)


def test_repeated_jobs_and_activities_are_kept_once_repeated_subjects_as_they_come():
    jobs = portal_jobs()
    with PortalSimulator(jobs, page_limit_max=2, faults=Faults(repeat_page_items=True)) as portal:
        lines, _ = fetch(portal.url)

    expected = selling(jobs)
    for j in expected:
        for a in j["activities"]:
            a["subjects"] = with_page_repeats(a["subjects"], 2)
    assert [orjson.loads(line) for line in lines] == expected


def with_page_repeats(items, size):
    """The items as served when every page starts with the last item of the previous one."""
    served = []
    for offset in range(0, len(items), size):
        served += items[offset - 1:offset] if offset else []
        served += items[offset:offset + size]
    return served


def test_malformed_items_pass_through_as_received_and_nothing_under_them_is_read():
    no_id_activity = {"job_id": "job-1", "name": "no id", "subjects": [subject("hidden", "x")]}
    jobs = [
        job("job-1", "webshop_selling", [activity("act-1", "job-1", 1), no_id_activity, 17]),
        {"id": 99, "organization_id": "org-1", "name": "integer id", "status": "webshop_selling",
         "activities": [activity("act-9", "job-9", 1)]},
        "not a job",
        job("job-2", "webshop_selling", [activity("act-2", "job-2", 0)]),
    ]
    jobs[3]["activities"][0]["subjects"] = [subject(12345, "act-2"), 7, None, subject("s-ok", "act-2")]
    with PortalSimulator(jobs, page_limit_max=2) as portal:
        lines, stats = fetch(portal.url)

    assert [orjson.loads(line) for line in lines] == [
        {**jobs[0], "activities": [jobs[0]["activities"][0], {"job_id": "job-1", "name": "no id"}, 17]},
        {key: value for key, value in jobs[1].items() if key != "activities"},
        "not a job",
        jobs[3],
    ]
    # jobs page x2; job-1: activities x2, act-1 subjects; job-2: activities, act-2 subjects x2
    assert stats["requests"] == 2 + 3 + 3


def test_injected_malformed_items_do_not_crash_the_read():
    jobs = portal_jobs()
    with PortalSimulator(jobs, page_limit_max=2, faults=Faults(malformed_items=True)) as portal:
        lines, _ = fetch(portal.url)

    records = [orjson.loads(line) for line in lines]
    assert [record["id"] for record in records if isinstance(record, dict)] == ["job-1", "job-3", 4242, "job-5"]
    assert records[2:4] == [  # appended to the first page, which holds job-1 and job-3
        {"id": 4242, "organization_id": "org-malformed", "name": "job with an integer id", "status": "webshop_selling"},
        "not a job",
    ]
    first = records[0]
    assert first["activities"][2] == {"job_id": "job-1", "name": "activity without an id"}  # after page 1
    assert first["activities"][0]["subjects"][2:4] == [
        {"id": 12345, "activity_id": "act-1a", "first_name": "Integer", "last_name": "Id"}, 7]


def test_an_empty_portal_gives_no_lines():
    with PortalSimulator([]) as portal:
        assert fetch(portal.url) == ([], {"requests": 1, "retries": 0, "rate_limited": 0})


def test_the_sync_helper_gives_the_same_lines_and_its_counters():
    jobs = portal_jobs()
    stats = {}
    with PortalSimulator(jobs, page_limit_max=2) as portal:
        lines = fetch_export_lines_sync(portal.url, "sim-token", stats=stats, concurrency=4)

    assert lines == export_lines(selling(jobs))
    assert stats["requests"] == requests_needed(jobs, 2)
