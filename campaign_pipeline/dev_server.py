"""`make dev`: `dagster dev`, stopped whole and within seconds on Ctrl-C or SIGTERM.

Two things in `dagster dev` make it outlive a SIGTERM. It handles SIGTERM with
whatever handles SIGINT, so when it starts with SIGINT ignored (a background
job, most service managers) it ignores SIGTERM too. And its own shutdown waits
for the webserver, the daemon and the code servers, tens of seconds on a busy
machine. So it runs here in its own process group with the default SIGINT
handling back; the first Ctrl-C or SIGTERM is passed to the whole group, and
what is still running after GRACE_SECONDS is killed.

    python -m campaign_pipeline.dev_server [dagster dev options]
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stop = []
    # A Python handler (unlike SIG_IGN) is reset to the default in the child at exec.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda signum, frame: stop.append(signum))
    dagster = str(Path(sys.executable).parent / "dagster")
    # `dagster dev` warns it is superseded by `dg dev`, which is not installed: noise here.
    quiet = "ignore:Function `dev_command` is superseded"
    env = {**os.environ, "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), quiet]))}
    child = subprocess.Popen([dagster, "dev", *argv], process_group=0, env=env)
    while not stop and child.poll() is None:
        time.sleep(0.2)
    _end_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while _group_alive(child.pid) and time.monotonic() < deadline:
        child.poll()  # reaps the leader once it exits, so the group can empty
        time.sleep(0.1)
    if _group_alive(child.pid):
        _end_group(child.pid, signal.SIGKILL)
    code = child.wait()
    return 0 if stop else code


def _end_group(group: int, number: int) -> None:
    try:
        os.killpg(group, number)
    except ProcessLookupError:
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
