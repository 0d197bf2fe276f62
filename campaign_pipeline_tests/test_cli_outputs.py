"""Where `campaign-cli build` writes and what: checked before any work, published
all together or not at all, in the format the name says, with the umask's mode.
Every case is a real process."""

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from campaign_pipeline_tests.test_cli import log_lines, run, small_export  # noqa: F401 (fixture)

UNREADABLE_SOURCE = "/no/such/export.jsonl"


def usage_error(result) -> str:
    """The one error line of a usage error (exit 2, no traceback)."""
    assert result.returncode == 2, result.stderr
    errors = [entry for entry in log_lines(result.stderr) if entry["level"] == "error"]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    return errors[0]["message"]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def out_dir(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# --- targets that cannot be written: exit 2, found before the source is read ---

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: (d / "adir").mkdir() or ["--out", d / "adir"], "is a directory"),
        (lambda d: (d / "adir").mkdir() or ["--out", d / "ok.csv", "--exclusions", d / "adir"], "is a directory"),
        (lambda d: ["--out", d / "missing" / "d.csv"], "does not exist"),
        (lambda d: ["--exclusions", d / "missing" / "e.csv"], "does not exist"),
        (lambda d: (d / "file").write_text("x") and ["--out", d / "file" / "d.csv"], "not a directory"),
        (lambda d: ["--out", d / "same.csv", "--exclusions", d / "same.csv"], "same file"),
        (lambda d: ["--out", d / "same.csv", "--exclusions", d / "." / "same.csv"], "same file"),
        (lambda d: ["--out", "s3://bucket-only"], "s3://bucket/key"),
        (lambda d: ["--out", "ftp://host/d.csv"], "only local paths and s3://bucket/key"),
    ],
    ids=["out-dir", "exclusions-dir", "out-missing-parent", "exclusions-missing-parent",
         "parent-is-a-file", "same-file", "same-file-spelled-differently", "s3-shape", "other-scheme"],
)
def test_an_output_that_cannot_be_written_is_a_usage_error_before_any_work(make, message, out_dir):
    args = make(out_dir)
    before = listing(out_dir)
    # The source does not exist: a check made after reading it would say so instead.
    message_seen = usage_error(run("build", "--jobs", UNREADABLE_SOURCE, *args))
    assert message in message_seen and "no such file" not in message_seen
    assert listing(out_dir) == before


def test_a_folder_without_write_permission_is_a_usage_error(out_dir):
    locked = out_dir / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("root writes into a 0500 folder: see the probe case below")
        message = usage_error(run("build", "--jobs", UNREADABLE_SOURCE, "--out", locked / "d.csv"))
        assert "cannot write" in message and str(locked) in message
        assert listing(locked) == []
    finally:
        locked.chmod(0o700)


def test_the_writability_probe_catches_what_os_access_does_not():
    # As root os.access says /sys is writable; creating a file there fails. Only
    # trying to create a file finds that out, before the source is read.
    assert Path("/sys").is_dir()
    message = usage_error(run("build", "--jobs", UNREADABLE_SOURCE, "--out", "/sys/campaign-d.csv"))
    assert "cannot write /sys/campaign-d.csv" in message and "no such file" not in message


def test_a_read_only_file_in_the_way_is_refused_like_cp_refuses_it(out_dir):
    target = out_dir / "d.csv"
    target.write_text("keep me")
    target.chmod(0o444)
    if os.access(target, os.W_OK):
        pytest.skip("root: permission bits do not apply (cp overwrites too)")
    message = usage_error(run("build", "--jobs", UNREADABLE_SOURCE, "--out", target))
    assert "cannot write" in message
    assert target.read_text() == "keep me"


def test_missing_parents_are_not_created(out_dir, small_export):
    target = out_dir / "a" / "b" / "d.csv"
    usage_error(run("build", "--jobs", small_export, "--out", target))
    assert listing(out_dir) == []


# --- format follows the name ---

@pytest.mark.parametrize("name", ["d.json", "D.JSON"])
def test_a_json_name_gets_json_without_the_flag(name, out_dir, small_export):
    result = run("build", "--jobs", small_export, "--out", out_dir / name)
    assert result.returncode == 0, result.stderr
    assert (out_dir / name).read_bytes().startswith(b'[{"organization_id":')


def test_a_parquet_name_gets_parquet_and_the_flag_agrees(out_dir, small_export):
    assert run("build", "--jobs", small_export, "--out", out_dir / "d.csv").returncode == 0
    expected = pl.read_csv(out_dir / "d.csv", infer_schema=False)
    for args in (["--out", out_dir / "d.parquet"], ["--parquet", "--out", out_dir / "flagged.parquet"],
                 ["--parquet", "--out", out_dir / "noext"]):
        result = run("build", "--jobs", small_export, *args)
        assert result.returncode == 0, result.stderr
        written = Path(args[-1]).read_bytes()
        assert written[:4] == b"PAR1"
        frame = pl.read_parquet(written).cast(pl.String).fill_null("")
        assert frame.rows() == expected.fill_null("").rows()


def test_an_unknown_extension_or_none_is_csv_unless_a_flag_says(out_dir, small_export):
    assert run("build", "--jobs", small_export, "--out", out_dir / "d.txt").returncode == 0
    assert (out_dir / "d.txt").read_text().startswith("organization_id,segment,phone,")
    assert run("build", "--jobs", small_export, "--json", "--out", out_dir / "d").returncode == 0
    assert (out_dir / "d").read_text().startswith('[{"organization_id":')


@pytest.mark.parametrize(
    "args, message",
    [
        (["--json", "--out", "OUT/d.csv"], "--json"),
        (["--parquet", "--out", "OUT/d.json"], "--parquet"),
        (["--json", "--out", "OUT/d.parquet"], "--json"),
        (["--json", "--parquet", "--out", "OUT/d"], "not allowed with"),
        (["--exclusions", "OUT/e.json"], "exclusions are CSV"),
        (["--exclusions", "OUT/e.Parquet"], "exclusions are CSV"),
    ],
)
def test_a_flag_that_contradicts_the_name_is_a_usage_error(args, message, out_dir):
    args = [a.replace("OUT", str(out_dir)) for a in args]
    assert message in usage_error(run("build", "--jobs", UNREADABLE_SOURCE, *args))
    assert listing(out_dir) == []


def test_parquet_to_stdout_only_when_stdout_is_not_a_terminal(small_export):
    piped = subprocess.run([sys.executable, "-m", "campaign_pipeline.cli", "build", "--jobs", str(small_export),
                            "--parquet"], capture_output=True, timeout=120)
    assert piped.returncode == 0 and piped.stdout[:4] == b"PAR1"
    # A real terminal: a pseudo-terminal as stdout.
    import pty

    primary, secondary = pty.openpty()
    try:
        tty = subprocess.run([sys.executable, "-m", "campaign_pipeline.cli", "build", "--jobs", str(small_export),
                              "--parquet"], stdout=secondary, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(secondary)
        os.close(primary)
    assert "binary Parquet to a terminal: give --out" in usage_error(tty)


# --- all files or none, whatever stops the run ---

# The run is stopped from inside at the exact moment it writes: an audit hook
# (test side only) sends the signal when the Nth file operation in the output
# folder begins, so the signal lands while files are staged or half published.
STOPPER = """
import os, signal, sys
from campaign_pipeline.cli import main
folder, event, nth, signum = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seen = 0
def hook(name, args):
    global seen
    if name == event and any(isinstance(a, (str, os.PathLike)) and os.fspath(a).startswith(folder) for a in args[:2]):
        seen += 1
        if seen == nth:
            os.kill(os.getpid(), signum)
sys.addaudithook(hook)
sys.exit(main(sys.argv[5:]))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize(
    "event, nth",
    # Opens in the folder: a writability probe per output, then the two staged files.
    [("open", 4), ("os.rename", 1), ("os.rename", 2)],
    ids=["while-staging", "before-publishing", "half-published"],
)
def test_a_signal_while_writing_leaves_the_old_files_and_no_temporary(event, nth, signum, out_dir, small_export):
    (out_dir / "e.csv").write_text("the previous exclusions\n")
    args = ["build", "--jobs", str(small_export), "--out", str(out_dir / "d.csv"),
            "--exclusions", str(out_dir / "e.csv")]
    result = subprocess.run([sys.executable, "-c", STOPPER, str(out_dir), event, str(nth), str(int(signum)), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 128 + signum, result.stderr
    assert listing(out_dir) == ["e.csv"]
    assert (out_dir / "e.csv").read_text() == "the previous exclusions\n"
    last = log_lines(result.stderr)[-1]
    assert last["level"] == "error" and last["event"] == "interrupted" and last["signal"] == signum.name


# --- modes follow the umask, like cp and shell redirects ---

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_are_created_with_the_umask_mode(umask, mode, out_dir, small_export):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "campaign-cli"), "build", "--jobs", str(small_export),
         "--out", str(out_dir / "d.csv"), "--exclusions", str(out_dir / "e.csv")],
        capture_output=True, text=True, timeout=120, umask=umask,
    )
    assert result.returncode == 0, result.stderr
    assert {name: stat.S_IMODE((out_dir / name).stat().st_mode) for name in listing(out_dir)} == {
        "d.csv": mode, "e.csv": mode,
    }
