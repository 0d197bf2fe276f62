"""What the command line tells a user beyond the contract's outputs: warnings
about inputs that read but cannot be what was meant, user mistakes as one clear
line, progress, --version, --debug anywhere, help on every flag. Real processes."""

import fcntl
import gzip
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from campaign_pipeline.portal import PortalSimulator
from campaign_pipeline.sample import SAMPLE_EXPORT
from campaign_pipeline_tests.builders import activity, job, subject

CLI = str(Path(sys.executable).parent / "campaign-cli")
TOKEN = "test-token"


def run(*args, **env):
    environment = {name: value for name, value in os.environ.items() if name != "PORTAL_URL"}
    environment.update(env)
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=environment, timeout=120)


def log_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]


def events(stderr: str, name: str) -> list[dict]:
    return [entry for entry in log_lines(stderr) if entry["event"] == name]


@pytest.fixture
def small_export(export):
    return export([job(activities=[activity(subjects=[
        subject("s1", phone="040 123 4567", access_key="AK1"),
        subject("s2", phone="050 765 4321"),
        subject("s3", phone="0401112222"),
    ])])])


# --- inputs that read but cannot be what was meant ----------------------------------


@pytest.mark.parametrize("content", [b"", b"\n  \n\n"], ids=["0 bytes", "blank lines"])
def test_an_export_without_a_job_line_is_a_warning_naming_the_file(tmp_path, content):
    path = tmp_path / "export.jsonl"
    path.write_bytes(content)
    result = run("build", "--jobs", path, "--dry-run")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"rows": {"buyer": 0, "non_buyer": 0}, "exclusions": {}}
    [warning] = [entry for entry in log_lines(result.stderr) if entry["level"] == "warning"]
    assert warning["event"] == "export_empty" and warning["file"] == str(path)
    assert str(path) in warning["message"] and "no job line" in warning["message"]


def test_an_export_that_is_a_json_array_is_a_warning_with_the_hint(export, tmp_path):
    path = export([[job(activities=[activity(subjects=[subject("s1")])])]])  # one line: a JSON array
    result = run("build", "--jobs", path, "--out", tmp_path / "d.csv", "--exclusions", tmp_path / "e.csv")
    assert result.returncode == 0
    [warning] = [entry for entry in log_lines(result.stderr) if entry["level"] == "warning"]
    assert warning["event"] == "export_not_json_lines" and warning["file"] == str(path)
    assert "the export must be JSON Lines: one job object per line" in warning["message"]
    # The contract's output for such a line stands: one invalid_record.
    assert (tmp_path / "e.csv").read_text().splitlines()[1:] == [",,,,,invalid_record,not a JSON object"]


def test_a_good_export_has_no_warning_and_source_read_counts_what_was_read(small_export):
    result = run("build", "--jobs", small_export, "--dry-run", "--buyers")
    assert result.returncode == 0
    assert [e for e in log_lines(result.stderr) if e["level"] == "warning" and e["event"].startswith("export")] == []
    names = [entry["event"] for entry in log_lines(result.stderr)]
    # Logged once the file was read, so after nothing but the start and the suppressions.
    assert names.index("source_read") < names.index("subjects_enriched")
    [read] = events(result.stderr, "source_read")
    assert read["job_lines"] == 1 and read["bytes"] == small_export.stat().st_size


def test_a_pretty_printed_export_gives_the_json_lines_hint(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([job()], indent=2))
    result = run("build", "--jobs", path, "--dry-run")
    assert result.returncode == 2
    [error] = log_lines(result.stderr)[-1:]
    assert "line 2: not JSON" in error["message"] and "JSON Lines" in error["message"]


# --- user mistakes: one line, exit 2, never "unexpected" ----------------------------


def _truncated_gzip(tmp_path):
    data = gzip.compress(b'{"id": "job-1", "status": "draft"}\n' * 2000)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _binary(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\xff\xfe\x00")
    return path


def _latin1(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"id": "job-1", "name": "Äijälä", "status": "draft"}\n'.encode("latin-1"))
    return path


def _directory(tmp_path):
    (tmp_path / "lists").mkdir()
    return tmp_path / "lists"


PORTAL = "http://127.0.0.1:9"  # never reached: every case fails before a request


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--jobs-url", "127.0.0.1:8080"], {}, "--jobs-url: expected an http:// or https:// URL"),
        (["--jobs-url", "ftp://example.org"], {}, "--jobs-url"),
        (["--jobs-url", "http://"], {}, "--jobs-url"),
        (["--jobs-url", "http://host:port"], {}, "--jobs-url"),
        ([], {"PORTAL_URL": "127.0.0.1:8080"}, "PORTAL_URL: expected an http:// or https:// URL"),
        (["--jobs-url", PORTAL, "--rate-limit", "-1"], {}, "--rate-limit: must be a number greater than 0"),
        (["--jobs-url", PORTAL, "--rate-limit", "nan"], {}, "--rate-limit: must be a number greater than 0"),
        (["--jobs-url", PORTAL, "--rate-limit", "0"], {}, "--rate-limit"),
        (["--jobs-url", PORTAL, "--concurrency", "many"], {}, "--concurrency: not a whole number"),
        (["--jobs-url", PORTAL, "--dry-run"], {"PORTAL_TOKEN": "tökén"}, "PORTAL_TOKEN: contains"),
        (["--jobs-url", PORTAL, "--dry-run"], {"PORTAL_TOKEN": "sécret\ntoken"}, "PORTAL_TOKEN: contains"),
        (["--jobs", "EXPORT", "--region", "XX"], {}, "unknown phone region 'XX'"),
        (["--jobs", "EXPORT", "--suppress", "DIRECTORY"], {}, "is a directory"),
        (["--jobs", "DIRECTORY"], {}, "is a directory"),
        (["--jobs", "TRUNCATED"], {}, "cannot be read"),
        (["--jobs", "BINARY"], {}, "line 1: not JSON"),
        (["--jobs", "LATIN1"], {}, "line 1: not JSON"),
        (["--jobs", "EXPORT", "--dry-run"], {"CAMPAIGN_PROGRESS_INTERVAL": "soon"}, "CAMPAIGN_PROGRESS_INTERVAL"),
    ],
)
def test_user_mistakes_are_one_clear_line_and_exit_2(args, env, message, small_export, tmp_path):
    files = {
        "EXPORT": lambda: small_export, "DIRECTORY": lambda: _directory(tmp_path),
        "TRUNCATED": lambda: _truncated_gzip(tmp_path), "BINARY": lambda: _binary(tmp_path),
        "LATIN1": lambda: _latin1(tmp_path),
    }
    args = [files[a]() if a in files else a for a in args]
    result = run("build", *args, **env)
    assert result.returncode == 2, result.stderr
    errors = [entry for entry in log_lines(result.stderr) if entry["level"] == "error"]
    assert len(errors) == 1 and message in errors[0]["message"], errors
    assert "unexpected" not in errors[0]["message"] and "Traceback" not in result.stderr
    assert "tökén" not in result.stderr and "sécret" not in result.stderr  # a token is never repeated


# --- helping a manager act ---------------------------------------------------------


def test_rows_without_an_access_key_are_counted_and_warned_about(small_export, tmp_path):
    result = run("build", "--jobs", small_export, "--out", tmp_path / "d.csv")
    assert result.returncode == 0
    [built] = events(result.stderr, "dataset_built")
    assert built["rows_without_access_key"] == 2  # s2 and s3 have no key, s1 has
    [warning] = events(result.stderr, "rows_without_access_key")
    assert warning["level"] == "warning" and warning["count"] == 2 and "{access_key}" in warning["message"]
    assert "AK1" not in result.stderr
    dry = run("build", "--jobs", small_export, "--dry-run", "--buyers")
    assert json.loads(dry.stdout) == {"rows": {"buyer": 0}, "exclusions": {}}  # the contract's summary, untouched
    assert events(dry.stderr, "dataset_built")[0]["rows_without_access_key"] == 0
    assert events(dry.stderr, "rows_without_access_key") == []


def test_suppression_entries_that_do_not_parse_are_counted(small_export, tmp_path):
    optouts = tmp_path / "optouts.txt"
    optouts.write_text("# opt-outs\n040 123 4567\nnot a number\n\n12\nnot a number\n")
    result = run("build", "--jobs", small_export, "--dry-run", "--suppress", optouts)
    assert result.returncode == 0
    [loaded] = events(result.stderr, "suppressions_loaded")
    assert loaded["numbers"] == 1 and loaded["invalid_entries"] == 3
    [warning] = events(result.stderr, "suppression_entries_invalid")
    assert warning["level"] == "warning" and warning["count"] == 3


def test_reading_an_export_logs_progress_with_counts_and_rate():
    result = run("build", "--jobs", SAMPLE_EXPORT, "--dry-run", CAMPAIGN_PROGRESS_INTERVAL="0.005")
    assert result.returncode == 0, result.stderr
    progress = events(result.stderr, "progress")
    assert progress and {entry["phase"] for entry in progress} == {"export_read"}
    size = SAMPLE_EXPORT.stat().st_size
    for entry in progress:
        assert entry["unit"] == "bytes" and entry["total"] == size and 0 <= entry["done"] <= size
        assert entry["rate"] >= 0 and entry["elapsed"] >= 0
    names = [entry["event"] for entry in log_lines(result.stderr)]
    assert names.index("progress") < names.index("source_read")  # the progress came while reading


def _portal_jobs():
    subjects = [subject(f"s{i:02}", phone=f"040 {i:03} 1234") for i in range(12)]
    return [job("job-1", activities=[activity("act-1", subjects=subjects[:6]), activity("act-2", subjects=subjects[6:])])]


def test_fetching_and_access_key_posts_log_progress():
    with PortalSimulator(_portal_jobs(), token=TOKEN, latency=0.05) as portal:
        result = run("build", "--jobs-url", portal.url, "--concurrency", "2", "--non-buyers",
                     PORTAL_TOKEN=TOKEN, CAMPAIGN_PROGRESS_INTERVAL="0.02")
    assert result.returncode == 0, result.stderr
    progress = events(result.stderr, "progress")
    fetch = [entry for entry in progress if entry["phase"] == "portal_fetch"]
    keys = [entry for entry in progress if entry["phase"] == "access_keys"]
    assert fetch and fetch[-1]["unit"] == "requests" and "total" not in fetch[-1]
    assert keys and keys[-1]["total"] == 12 and keys[-1]["unit"] == "keys"
    assert max(entry["done"] for entry in keys) <= 12


def test_progress_draws_a_bar_on_a_terminal_and_nothing_else_elsewhere(small_export):
    piped = run("build", "--jobs", small_export, "--dry-run", "--progress")
    assert piped.returncode == 0
    log_lines(piped.stderr)  # still JSON lines only
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal's size
    try:
        process = subprocess.run([CLI, "build", "--jobs", SAMPLE_EXPORT, "--dry-run", "--progress"],
                                 stdout=subprocess.PIPE, stderr=terminal, timeout=120)
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
    assert process.returncode == 0
    assert b"export_read" in seen and b"\r" in seen  # a bar redrawn in place
    assert json.loads(process.stdout)["rows"]


# --- small CLI gaps ---------------------------------------------------------------


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout == "campaign-cli 0.1.0\n" and result.stderr == ""


def test_debug_is_accepted_after_the_command_name_too(small_export):
    for args in (["--debug", "build"], ["build", "--debug"]):
        result = run(*args, "--jobs", small_export, "--dry-run")
        assert result.returncode == 0, result.stderr


def test_every_flag_has_help_text():
    probe = (
        "from campaign_pipeline.cli import _parser\n"
        "from campaign_pipeline.portal.simulator import _parser as simulator\n"
        "top = _parser()\n"
        "build = top._subparsers._group_actions[0].choices['build']\n"
        "for parser in (top, build, simulator()):\n"
        "    for action in parser._actions:\n"
        "        if action.option_strings and not action.help:\n"
        "            print(parser.prog, action.option_strings[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    for args in (["build", "--help"], ["portal-sim", "--help"]):
        shown = run(*args)
        assert shown.returncode == 0 and shown.stderr == ""
    assert "only the buyers" in run("build", "--help").stdout
    assert "bearer token" in run("portal-sim", "--help").stdout
