"""`--out` of the commands that write one file (`messages export`, `suppress export`):
stdout when not given, else the file whole or not at all, as `build` writes its outputs
(files/storage.py). A target that cannot be written is a usage error (exit 2) found
before any work; a write that fails later is a failed run (exit 1), nothing left behind."""

import sys


def check_output(out: str | None) -> None:
    from campaign_pipeline.files.storage import check_targets

    if out is not None:
        check_targets({"--out": out})


def write_output(data: bytes, out: str | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from campaign_pipeline.files.storage import write_atomically

    write_atomically({out: data})
