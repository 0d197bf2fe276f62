"""The command line as users run it: a real process, its exit code, stdout and stderr."""

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from campaign_pipeline_tests.conftest import activity, job, subject

CLI = str(Path(sys.executable).parent / "campaign-cli")
HEAVY = ("dagster", "pandera", "boto3")


def run(*args, cwd=None):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def log_lines(stderr: str) -> list[dict]:
    """Every stderr line must be a JSON object: the contract allows nothing else."""
    return [json.loads(line) for line in stderr.splitlines()]


@pytest.fixture
def small_export(export):
    return export([
        job(activities=[activity(subjects=[
            subject("s1", phone="040 123 4567", orders=[{"id": "o1", "status": "paid", "created_at": "2026-10-01T10:00:00Z"}]),
            subject("s2", phone="050 765 4321", first_name='Anna, "Annie"'),
            subject("s3", phone="n/a"),
        ])]),
    ])


def test_help_and_build_import_neither_dagster_nor_pandera_nor_boto3(small_export):
    probe = (
        "import sys, io, contextlib\n"
        "from campaign_pipeline.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['build', '--jobs', {str(small_export)!r}, '--dry-run'])\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(rc, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "0 []", result.stderr
    help_probe = "import sys\nfrom campaign_pipeline.cli import _parser\n_parser()\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('polars', *%r)))" % (HEAVY,)
    assert subprocess.run([sys.executable, "-c", help_probe], capture_output=True, text=True).stdout.strip() == "[]"
    assert run("--help").returncode == 0 and "build" in run("--help").stdout


def test_build_writes_dataset_to_stdout_and_logs_json_lines(small_export):
    result = run("build", "--jobs", small_export)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("organization_id,segment,phone,")
    assert [line.split(",")[2] for line in lines[1:]] == ["+358401234567", "+358507654321"]
    logs = log_lines(result.stderr)
    assert {entry["run_id"] for entry in logs} == {logs[0]["run_id"]}
    assert any(entry["event"] == "dataset_built" and "seconds" in entry for entry in logs)
    assert "401234567" not in result.stderr and "Anna" not in result.stderr


def test_dry_run_prints_the_summary_and_writes_nothing(small_export, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    out, excluded = tmp_path / "d.csv", tmp_path / "e.csv"
    result = run("build", "--jobs", small_export, "--dry-run", "--out", out, "--exclusions", excluded)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"rows": {"buyer": 1, "non_buyer": 1}, "exclusions": {"no_phone": 1}}
    assert not out.exists() and not excluded.exists() and list(tmp_path.iterdir()) == []
    buyers_only = json.loads(run("build", "--jobs", small_export, "--dry-run", "--buyers").stdout)
    assert buyers_only == {"rows": {"buyer": 1}, "exclusions": {}}


def test_out_and_exclusions_files_and_json(small_export, tmp_path):
    (tmp_path / "sub").mkdir()
    result = run("build", "--jobs", small_export, "--out", tmp_path / "d.json", "--json",
                 "--exclusions", tmp_path / "sub" / "e.csv")
    assert result.returncode == 0 and result.stdout == ""
    rows = json.loads((tmp_path / "d.json").read_text())
    assert [row["subject_ids"] for row in rows] == ["s1", "s2"] and rows[1]["first_name"] == 'Anna, "Annie"'
    assert (tmp_path / "sub" / "e.csv").read_text().endswith("s3,no_phone,\n")


@pytest.mark.parametrize(
    "args, message",
    [
        (["build", "--frobnicate"], "unrecognized arguments"),
        (["build", "--jobs", "/no/such/file.jsonl"], "no such file"),
        (["build", "--buyers", "--non-buyers", "--jobs", "x"], "not allowed with"),
        (["build"], "no portal"),
        (["build", "--jobs", "EXPORT", "--region", "XX"], "region"),
        (["build", "--jobs", "EXPORT", "--suppress", "/no/such/list.csv"], "no such file"),
        (["build", "--jobs", "EXPORT", "--concurrency", "0"], "at least 1"),
        ([], "command is required"),
    ],
)
def test_usage_errors_exit_2_with_one_json_line(args, message, small_export, monkeypatch):
    monkeypatch.delenv("PORTAL_URL", raising=False)
    result = run(*[str(small_export) if a == "EXPORT" else a for a in args])
    assert result.returncode == 2, result.stderr
    errors = [e for e in log_lines(result.stderr) if e["level"] == "error"]
    assert len(errors) == 1 and message in errors[0]["message"]
    assert "Traceback" not in result.stderr


def test_an_export_line_that_is_not_json_is_a_usage_error(export):
    result = run("build", "--jobs", export([job(), "{oops"]), "--dry-run")
    assert result.returncode == 2
    assert "line 2: not JSON" in log_lines(result.stderr)[-1]["message"]


def test_a_failed_write_exits_1_and_leaves_no_file_behind(small_export, tmp_path):
    # A write that fails after the checks passed: a file size limit (EFBIG, as a
    # full disk would fail it). The old exclusions stay as they were.
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "e.csv").write_text("old\n")
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (8, 8))  # noqa: E731
    result = subprocess.run([CLI, "build", "--jobs", str(small_export), "--out", str(tmp_path / "d.csv"),
                             "--exclusions", str(tmp_path / "e.csv")],
                            capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert result.returncode == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv"] and (tmp_path / "e.csv").read_text() == "old\n"
    error = log_lines(result.stderr)[-1]
    assert error["level"] == "error" and "cannot write" in error["message"] and "d.csv" in error["message"]
