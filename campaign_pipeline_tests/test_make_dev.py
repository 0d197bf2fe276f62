"""`make dev` as a user runs it: the real Makefile, make, dagster dev and its processes."""

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _session(sid: int) -> list[str]:
    """Command lines of the session's live (not zombie) processes."""
    ps = subprocess.run(["ps", "-o", "stat=,args=", "-s", str(sid)], capture_output=True, text=True)
    return [line.split(None, 1)[1] for line in ps.stdout.splitlines() if not line.lstrip().startswith("Z")]


@pytest.mark.skipif(not (shutil.which("make") and shutil.which("ps")), reason="needs make and ps")
def test_make_dev_uses_the_projects_dagster_yaml_and_stops_whole_on_sigterm(tmp_path):
    # A copy of the project's top, so the instance it makes lives in tmp_path.
    for name in ("Makefile", "dagster.yaml", "workspace.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "pyproject.toml").touch()
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").touch()
    log = (tmp_path / "make.log").open("w")
    # SIGINT ignored, as in a background job or under most service managers.
    make = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"BIN={BIN}", f"DEV_PORT={_free_port()}"], cwd=tmp_path,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 240
        while not any("dagster._daemon" in p for p in _session(make.pid)) and time.monotonic() < deadline:
            assert make.poll() is None, (tmp_path / "make.log").read_text()[-3000:]
            time.sleep(0.5)
        assert any("dagster_webserver" in p for p in _session(make.pid)), "dagster dev did not start"
        make.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        while _session(make.pid) and time.monotonic() - stopped < 10:
            time.sleep(0.2)
        assert _session(make.pid) == [], "still running 10 s after SIGTERM"
    finally:
        if _session(make.pid):
            subprocess.run(["pkill", "-KILL", "-s", str(make.pid)])
        log.close()
    output = (tmp_path / "make.log").read_text()
    assert "will not be used" not in output and "Warning" not in output
    assert (tmp_path / ".dagster_home").is_dir() and not (tmp_path / "history").exists()
