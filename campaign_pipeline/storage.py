"""Writing output files whole or not at all, to a local folder or to S3.

Local files are written to a temporary name and renamed into place only when
every file of the run is written, so a failed run leaves no file behind, not
even a partial one. An S3 object appears whole or not at all by itself
(PutObject); when a later object of the same run fails, the earlier ones are
deleted again. S3 credentials, region and endpoint come from the standard AWS
environment (`AWS_ENDPOINT_URL_S3` reaches an S3-compatible store).
"""

import os
import tempfile
from pathlib import Path
from typing import Any

from campaign_pipeline.core.errors import InputError, RunFailed

S3_SCHEME = "s3://"


def write_atomically(files: dict[str, bytes], s3_client: Any = None) -> None:
    """Writes each target's bytes; all of them or (on failure) none."""
    remote = [t for t in files if "://" in t and not t.startswith(S3_SCHEME)]
    if remote:
        raise InputError(f"cannot write {remote[0]}: only local paths and s3://bucket/key are supported")
    local = {t: data for t, data in files.items() if not t.startswith(S3_SCHEME)}
    objects = {t: data for t, data in files.items() if t.startswith(S3_SCHEME)}
    staged = _stage_local(local)
    try:
        _put_objects(objects, s3_client)
    except BaseException:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise
    for temporary, target in staged:
        os.replace(temporary, target)


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


def _stage_local(files: dict[str, bytes]) -> list[tuple[str, Path]]:
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in files.items():
            staged.append((_stage(Path(target), data), Path(target)))
    except OSError as error:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise RunFailed(f"cannot write {error.filename or 'output'}: {error.strerror}") from None
    return staged


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


def _put_objects(objects: dict[str, bytes], s3_client: Any) -> None:
    if not objects:
        return
    client = s3_client or _default_s3_client()
    written: list[tuple[str, str]] = []
    for target, data in objects.items():
        bucket, key = split_s3_uri(target)
        try:
            client.put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as error:
            for done_bucket, done_key in written:
                try:
                    client.delete_object(Bucket=done_bucket, Key=done_key)
                except Exception:  # best effort: the run has failed already
                    pass
            raise RunFailed(f"cannot write {target}: {_s3_reason(error)}") from None
        written.append((bucket, key))


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
