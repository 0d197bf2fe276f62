"""Writing output files whole or not at all, to a local folder or to S3.

Before any work, `check_targets` refuses outputs that cannot be written (a
directory, a missing or read-only folder, two outputs naming one file): folders
are never created here, as `cp` and `curl -o` do not create them (the assets'
IO manager makes its own layout under the output root it was given).

Then every local file of the run is staged beside its target (`.NAME.*.tmp`),
and only when all are staged are they renamed into place; when anything fails
(an error, a signal turned into an exception) every temporary file is removed
and files already renamed are put back as they were, so a failed run leaves
no file behind, not even a partial one. Files get mode 0o666 minus the umask,
like `cp`, shell redirects and `curl -o`. An S3 object appears whole or not at
all by itself (PutObject); objects of a run that then fails are deleted again.
S3 credentials, region and endpoint come from the standard AWS environment
(`AWS_ENDPOINT_URL_S3` reaches an S3-compatible store).
"""

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from campaign_pipeline.core.errors import InputError, RunFailed

S3_SCHEME = "s3://"
# O_EXCL: a temporary name is never someone else's file; mode 0o666 & ~umask.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def check_targets(targets: dict[str, str], probe: bool = True) -> None:
    """Refuses (InputError) outputs that cannot be written. `targets` maps what
    named each output (`--out`) to its path; S3 locations are checked for shape
    only. `probe` creates and removes a temporary file in each folder, the one
    check that holds whoever runs (root passes os.access everywhere)."""
    seen: dict[str, str] = {}
    for label, target in targets.items():
        if target.startswith(S3_SCHEME):
            split_s3_uri(target)
            identity = target
        else:
            identity = _check_local(label, target, probe)
        if identity in seen:
            raise InputError(f"{seen[identity]} and {label} name the same file: {target}")
        seen[identity] = label


def _check_local(label: str, target: str, probe: bool) -> str:
    _refuse_other_schemes([target])
    path = Path(target)
    folder = path.parent
    if path.is_dir() or target.endswith(os.sep):
        raise InputError(f"{label} {target} is a directory: give a file name")
    if not folder.exists():
        raise InputError(f"{label} {target}: folder {folder} does not exist (folders are not created)")
    if not folder.is_dir():
        raise InputError(f"{label} {target}: {folder} is not a directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{label}: cannot write {target}: the file is read-only")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{label}: cannot write {target}: folder {folder} is not writable")
    if probe:
        made: list[Path] = []
        try:
            os.close(_create_temporary(path, made))
        except OSError as error:
            raise InputError(f"{label}: cannot write {target}: {error.strerror}") from None
        finally:
            _remove(made)
    return os.path.realpath(target)


def write_atomically(files: dict[str, bytes], s3_client: Any = None) -> None:
    """Writes each target's bytes; all of them or (on failure) none."""
    _refuse_other_schemes(files)
    local = {Path(t): data for t, data in files.items() if not t.startswith(S3_SCHEME)}
    objects = {t: data for t, data in files.items() if t.startswith(S3_SCHEME)}
    # Names are recorded before the files exist, so the cleanup below finds
    # every one of them whenever the run is stopped.
    temporaries: list[Path] = []
    backups: list[Path] = []
    client = (s3_client or _default_s3_client()) if objects else None
    written: list[tuple[str, str]] = []
    try:
        staged = [(_stage(target, data, temporaries), target) for target, data in local.items()]
        _put_objects(objects, client, written)
        _publish(staged, backups)
    except BaseException:
        _delete_objects(client, written)
        raise
    finally:
        _remove(temporaries + backups)


def read_bytes(target: str, s3_client: Any = None) -> bytes:
    if not target.startswith(S3_SCHEME):
        return Path(target).read_bytes()
    bucket, key = split_s3_uri(target)
    client = s3_client or _default_s3_client()
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:
        raise RunFailed(f"cannot read {target}: {_s3_reason(error)}") from None


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len(S3_SCHEME):].partition("/")
    if not bucket or not key:
        raise InputError(f"{uri}: an S3 location is s3://bucket/key")
    return bucket, key


def _refuse_other_schemes(targets) -> None:
    remote = [t for t in targets if "://" in t and not t.startswith(S3_SCHEME)]
    if remote:
        raise InputError(f"cannot write {remote[0]}: only local paths and s3://bucket/key are supported")


def _create_temporary(target: Path, registry: list[Path]) -> int:
    """Opens a new `.NAME.*.tmp` beside `target`, its name in `registry` first."""
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        registry.append(temporary)
        try:
            return os.open(temporary, _CREATE, 0o666)
        except FileExistsError:
            registry.pop()


def _stage(target: Path, data: bytes, temporaries: list[Path]) -> Path:
    try:
        with os.fdopen(_create_temporary(target, temporaries), "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        raise RunFailed(f"cannot write {target}: {error.strerror}") from None
    return temporaries[-1]


def _publish(staged: list[tuple[Path, Path]], backups: list[Path]) -> None:
    """Renames every staged file into place; on failure puts back what was there."""
    done: list[tuple[Path, Path | None]] = []
    try:
        for temporary, target in staged:
            backup = _back_up(target, backups)
            # Listed before the rename: a stop right after it still undoes it.
            done.append((target, backup))
            os.replace(temporary, target)
    except BaseException as error:
        for published, old in reversed(done):
            try:
                if old is not None:
                    os.replace(old, published)
                else:
                    published.unlink(missing_ok=True)
            except OSError:  # best effort: the run has failed already
                pass
        if isinstance(error, OSError):
            raise RunFailed(f"cannot write {target}: {error.strerror}") from None
        raise


def _back_up(target: Path, backups: list[Path]) -> Path | None:
    """A second name for the file a publish replaces, to restore it on failure."""
    if not target.is_file():
        return None
    backup = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
    backups.append(backup)
    try:
        os.link(target, backup)
    except OSError:  # no hard links on this filesystem: a copy does the same
        shutil.copy2(target, backup)
    return backup


def _remove(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _put_objects(objects: dict[str, bytes], client: Any, written: list[tuple[str, str]]) -> None:
    for target, data in objects.items():
        bucket, key = split_s3_uri(target)
        try:
            client.put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as error:
            raise RunFailed(f"cannot write {target}: {_s3_reason(error)}") from None
        written.append((bucket, key))


def _delete_objects(client: Any, written: list[tuple[str, str]]) -> None:
    for bucket, key in written:
        try:
            client.delete_object(Bucket=bucket, Key=key)
        except Exception:  # best effort: the run has failed already
            pass


def _default_s3_client():
    import boto3

    return boto3.client("s3")


def _s3_reason(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code", "")
        message = response["Error"].get("Message", "")
        return f"{code} ({message})" if message else code
    return f"{type(error).__name__}: {error}"
