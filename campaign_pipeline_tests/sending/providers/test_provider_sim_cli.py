"""`campaign-cli provider-sim` as a real process: it serves, stops on SIGTERM, refuses other hosts."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, TO, TOKEN

CLI = str(Path(sys.executable).parent / "campaign-cli")


def test_it_serves_the_api_until_sigterm():
    process = subprocess.Popen(
        [CLI, "provider-sim", "--port", "0", "--account-sid", ACCOUNT, "--auth-token", TOKEN,
         "--latency-ms", "5", "--fault-script", "rate_limit,ok", "--retry-after", "2",
         "--fault-read-unavailable", "1"],
        stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        listening = json.loads(process.stderr.readline())
        assert listening["event"] == "provider_sim_listening"
        messages = f"{listening['url']}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        form = {"To": TO, "From": SENDER, "Body": "Hei"}
        limited = httpx.post(messages, data=form, auth=(ACCOUNT, TOKEN))
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")
        assert httpx.post(messages, data=form, auth=(ACCOUNT, TOKEN)).status_code == 201
        assert httpx.post(messages, data=form, auth=(ACCOUNT, "wrong")).status_code == 401
        assert httpx.get(messages, auth=(ACCOUNT, TOKEN)).status_code == 503  # every read, at rate 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    stopped = json.loads(stderr.splitlines()[-1])
    assert (stopped["event"], stopped["created"], stopped["fault_rate_limit"]) == ("provider_sim_stopped", 1, 1)
    assert stopped["read_fault_unavailable"] == 1
    assert TOKEN not in stderr


def test_a_host_other_than_loopback_is_refused_with_one_json_line():
    for host in ("0.0.0.0", "10.0.0.1"):
        result = subprocess.run([CLI, "provider-sim", "--host", host, "--port", "0"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        [line] = result.stderr.splitlines()
        assert json.loads(line)["level"] == "error" and "loopback" in line


def test_bad_flags_are_one_json_line_and_exit_2():
    for args in (["--fault-drop", "2"], ["--outcome", "0=lost"], ["--reject", "99"], ["--port", "70000"],
                 ["--fault-script", "explode"]):
        result = subprocess.run([CLI, "provider-sim", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, args
        assert len(result.stderr.splitlines()) == 1 and json.loads(result.stderr)["level"] == "error"
        if args[0] == "--port":  # the check `campaign-cli webhooks --port` shares (common/values.py)
            assert "--port" in result.stderr and "0 to 65535" in result.stderr


def test_every_flag_has_help():
    result = subprocess.run([CLI, "provider-sim", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    from campaign_pipeline.sending.providers.twilio_simulator import _parser

    for action in _parser()._actions:
        assert action.help, action.option_strings
