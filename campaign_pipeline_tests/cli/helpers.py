"""Running `campaign-cli` as users do, on a given campaign database."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "campaign-cli")
# E.164 numbers in full: logs and errors must never show one. Not digits inside
# a word: a provider's hex id (SM…085467482a57) may hold a run of nine.
FULL_PHONE = re.compile(r"(?<![0-9A-Za-z])\+?\d{9,15}(?![0-9A-Za-z])")


def environment(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DAGSTER_PG"))}
    env["CAMPAIGN_DB_URL"] = url
    return env


def run(url: str, *args, input: str | None = None, cwd=None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=environment(url),
                          input=input, cwd=cwd, timeout=timeout)


def popen(url: str, *args) -> subprocess.Popen:
    return subprocess.Popen([CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment(url))


def logs(stderr: str) -> list[dict]:
    """Every stderr line is one JSON object, and none shows a full phone."""
    entries = [json.loads(line) for line in stderr.splitlines()]
    for entry in entries:  # a run id is hex and may be all digits
        shown = json.dumps({k: v for k, v in entry.items() if k not in ("ts", "run_id")}, ensure_ascii=False)
        assert not FULL_PHONE.search(shown), shown
    return entries


def usage_error(result: subprocess.CompletedProcess) -> str:
    """The one JSON error line of a usage error (exit 2); its message."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    (entry,) = logs(result.stderr)
    assert entry["level"] == "error" and entry["event"] == "usage_error"
    assert result.stdout == ""
    return entry["message"]


def output(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    logs(result.stderr)
    return json.loads(result.stdout)
