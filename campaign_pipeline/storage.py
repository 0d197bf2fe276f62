"""Writing output files whole or not at all, to a local folder (or, later, S3).

Every file of a run is written to a temporary name first and renamed into place
only when all of them are written, so a failed run leaves no file behind, not
even a partial one, and a reader never sees half a file.
"""

import os
import tempfile
from pathlib import Path

from campaign_pipeline.core.errors import InputError, RunFailed


def write_atomically(files: dict[str, bytes]) -> None:
    """Writes each path's bytes; all of them or (on failure) none."""
    remote = [target for target in files if "://" in target]
    if remote:
        raise InputError(f"cannot write {remote[0]}: only local paths are supported so far")
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in files.items():
            staged.append((_stage(Path(target), data), Path(target)))
        for temporary, target in staged:
            os.replace(temporary, target)
    except OSError as error:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise RunFailed(f"cannot write {error.filename or 'output'}: {error.strerror}") from None


def _stage(target: Path, data: bytes) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


def read_bytes(target: str) -> bytes:
    return Path(target).read_bytes()
