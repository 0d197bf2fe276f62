"""The simulator speaks portal-api.yaml: pages, cursors, auth, faults, export files, command line."""

import gzip
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from campaign_pipeline.portal import Faults, PortalSimulator
from campaign_pipeline.portal.simulator import load_export, main

from campaign_pipeline_tests.builders import activity, job
from campaign_pipeline_tests.portal.helpers import portal_jobs

AUTH = {"Authorization": "Bearer sim-token"}


@pytest.fixture
def portal():
    with PortalSimulator(portal_jobs()) as simulator:
        with httpx.Client(base_url=simulator.url, headers=AUTH) as client:
            yield client


def test_it_serves_jobs_without_activities_and_activities_without_subjects(portal):
    jobs = portal.get("/v1/jobs", params={"status": "webshop_selling"}).json()
    assert [j["id"] for j in jobs["items"]] == ["job-1", "job-3", "job-5"]
    assert jobs["next_cursor"] is None
    assert "activities" not in jobs["items"][0]
    assert "activities" not in portal.get("/v1/jobs/job-2").json()
    activities = portal.get("/v1/jobs/job-1/activities").json()["items"]
    assert [a["id"] for a in activities] == ["act-1a", "act-1b", "act-1c"]
    assert "subjects" not in activities[0]
    assert len(portal.get("/v1/jobs", params={}).json()["items"]) == 5  # no status: every job


def test_cursor_pages_follow_the_limit(portal):
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = portal.get("/v1/activities/act-1a/subjects", params=params).json()
        assert len(page["items"]) <= 2
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"act-1a-s{n}" for n in range(5)]


def test_the_default_limit_is_100():
    jobs = [job("job-1", "webshop_selling", [activity("act-1", "job-1", 150)])]
    with PortalSimulator(jobs) as simulator, httpx.Client(base_url=simulator.url, headers=AUTH) as client:
        page = client.get("/v1/activities/act-1/subjects").json()
        assert len(page["items"]) == 100 and page["next_cursor"]


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"cursor": "garbage"},
], ids=["limit-0", "limit-501", "limit-text", "bad-cursor"])
def test_bad_paging_is_400(portal, params):
    assert portal.get("/v1/activities/act-1a/subjects", params=params).status_code == 400


def test_a_cursor_of_another_list_is_400(portal):
    cursor = portal.get("/v1/activities/act-1a/subjects", params={"limit": 1}).json()["next_cursor"]
    response = portal.get("/v1/activities/act-3a/subjects", params={"limit": 1, "cursor": cursor})
    assert response.status_code == 400


def test_unknown_things_are_404_and_a_missing_token_401(portal):
    assert portal.get("/v1/jobs/no-such-job").status_code == 404
    assert portal.get("/v1/jobs/no-such-job/activities").status_code == 404
    assert portal.get("/v1/activities/nope/subjects").status_code == 404
    assert portal.post("/v1/jobs").status_code == 404
    assert portal.get("/v2/anything").status_code == 404
    assert httpx.get(str(portal.base_url) + "/v1/jobs").status_code == 401
    assert portal.get("/v1/jobs", headers={"Authorization": "Bearer other"}).status_code == 401


def test_first_n_faults_come_per_path_in_order():
    faults = Faults(drop_first=1, rate_limit_first=1, retry_after=3, error_first=2, error_statuses=(502, 504))
    with PortalSimulator(portal_jobs(), faults=faults) as simulator:
        with httpx.Client(base_url=simulator.url, headers=AUTH) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                client.get("/v1/jobs/job-1")
            limited = client.get("/v1/jobs/job-1")
            assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
            assert [client.get("/v1/jobs/job-1").status_code for _ in range(3)] == [502, 504, 200]
            with pytest.raises(httpx.RemoteProtocolError):  # a new path starts over
                client.get("/v1/jobs/job-3")


def test_export_files_gzip_or_not(tmp_path):
    lines = b"\n".join(orjson.dumps(j) for j in portal_jobs()) + b"\n\n"
    (tmp_path / "plain.jsonl").write_bytes(lines)
    (tmp_path / "packed.jsonl.gz").write_bytes(gzip.compress(lines))
    assert load_export(tmp_path / "plain.jsonl") == load_export(tmp_path / "packed.jsonl.gz") == portal_jobs()
    (tmp_path / "broken.jsonl").write_bytes(lines + b"{not json\n")
    with pytest.raises(ValueError, match="line 7 is not JSON"):
        load_export(tmp_path / "broken.jsonl")
    with PortalSimulator(export_path=tmp_path / "packed.jsonl.gz") as simulator:
        page = httpx.get(simulator.url + "/v1/jobs/job-1/activities", headers=AUTH).json()
        assert len(page["items"]) == 3


def test_the_command_line_rejects_bad_usage_with_a_json_line(tmp_path, capsys):
    assert main(["--export", str(tmp_path / "missing.jsonl"), "--port", "0"]) == 2
    assert main(["--port", "0"]) == 2
    assert main(["--export", "x", "--access-key-fail", "no-status"]) == 2
    assert main(["--export", "x", "--port", "70000"]) == 2
    events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["event"] for e in events] == ["portal_sim_failed"] * 4
    assert "--port" in events[-1]["error"] and "0 to 65535" in events[-1]["error"]


def test_the_command_line_serves_until_interrupted(tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\n".join(orjson.dumps(j) for j in portal_jobs()))
    command = [sys.executable, "-m", "campaign_pipeline.portal.simulator", "--export", str(export),
               "--port", "0", "--fail-first", "1", "--access-key-fail", "act-1a-s0=409"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    try:
        listening = orjson.loads(process.stderr.readline())
        assert listening["event"] == "portal_sim_listening" and listening["url"].startswith("http://127.0.0.1:")
        url = listening["url"] + "/v1/subjects/act-1a-s0/access-key"
        assert [httpx.post(url, headers=AUTH).status_code for _ in range(2)] == [500, 409]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    stopped = orjson.loads(process.stderr.read().splitlines()[-1])
    assert stopped["event"] == "portal_sim_stopped" and stopped["requests"] == 2


CLI = str(Path(sys.executable).parent / "campaign-cli")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com", ""])
def test_the_command_line_refuses_to_listen_beyond_loopback(tmp_path, host):
    # It serves personal data: only this machine may read it, and no flag overrides that.
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\n".join(orjson.dumps(j) for j in portal_jobs()))
    result = subprocess.run([CLI, "portal-sim", "--export", str(export), "--host", host, "--port", "0"],
                            capture_output=True, timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    error = orjson.loads(line)
    assert error["event"] == "portal_sim_failed" and "loopback" in error["error"]
    with pytest.raises(ValueError, match="loopback"):
        PortalSimulator([], host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost"])
def test_loopback_addresses_are_served(host):
    with PortalSimulator(portal_jobs(), host=host) as simulator:
        assert httpx.get(simulator.url + "/v1/jobs/job-1", headers=AUTH).status_code == 200
