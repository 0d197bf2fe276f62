"""Whole-or-nothing writes: real files, real failures (a directory where a file
should go), real umasks in child processes."""

import stat
import subprocess
import sys

import pytest

from campaign_pipeline.core.errors import InputError, RunFailed
from campaign_pipeline.storage import check_targets, write_atomically


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("first_existed", [True, False])
def test_a_rename_that_fails_after_the_first_restores_the_first(first_existed, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    if first_existed:
        first.write_text("old a\n")
    second.mkdir()
    (second / "inside").write_text("a directory is in the way")
    with pytest.raises(RunFailed, match=r"cannot write .*b\.csv"):
        write_atomically({str(first): b"new a\n", str(second): b"new b\n"})
    assert listing(tmp_path) == (["a.csv", "b.csv"] if first_existed else ["b.csv"])
    if first_existed:
        assert first.read_text() == "old a\n"


def test_a_failure_while_staging_removes_what_was_staged(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(RunFailed, match="cannot write"):
        write_atomically({str(folder / "a.csv"): b"a", str(tmp_path / "missing" / "b.csv"): b"b"})
    assert listing(folder) == []


def test_a_successful_write_replaces_old_files_and_leaves_nothing_else(tmp_path):
    (tmp_path / "a.csv").write_text("old")
    write_atomically({str(tmp_path / "a.csv"): b"new", str(tmp_path / "b.csv"): b"b"})
    assert listing(tmp_path) == ["a.csv", "b.csv"] and (tmp_path / "a.csv").read_bytes() == b"new"


def test_checks_name_the_flag_and_the_path(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match=r"--out .*/d is a directory"):
        check_targets({"--out": str(tmp_path / "d")})
    with pytest.raises(InputError, match="--out and --exclusions name the same file"):
        check_targets({"--out": str(tmp_path / "x.csv"), "--exclusions": str(tmp_path / "x.csv")})
    with pytest.raises(InputError, match="same"):
        check_targets({"--out": "s3://b/k.csv", "--exclusions": "s3://b/k.csv"})
    check_targets({"--out": str(tmp_path / "x.csv"), "--exclusions": "s3://b/k.csv"})
    assert listing(tmp_path) == ["d"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_files_get_the_umask_mode_as_the_assets_write_them(umask, mode, tmp_path):
    target = tmp_path / "exclusions.csv"
    code = f"from campaign_pipeline.storage import write_atomically; write_atomically({{{str(target)!r}: b'x'}})"
    subprocess.run([sys.executable, "-c", code], check=True, umask=umask, timeout=60)
    assert stat.S_IMODE(target.stat().st_mode) == mode
