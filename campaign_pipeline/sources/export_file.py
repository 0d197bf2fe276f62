"""Reading a portal export file: JSON Lines of jobs, gzip-compressed or not."""

from isal import igzip
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

from campaign_pipeline.core.errors import ExportUnreadable

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 8 * 1024 * 1024


def _lines(stream) -> Iterator[bytes]:
    # Reading big chunks and splitting them is several times faster than
    # readline() on a gzip stream whose lines are megabytes long; the pieces of
    # a long line are joined once, not copied again with every chunk.
    pieces: list[bytes] = []
    for chunk in _chunks(stream):
        first, *complete = chunk.split(b"\n")
        if not complete:
            pieces.append(first)
            continue
        yield b"".join([*pieces, first])
        *complete, last = complete
        yield from complete
        pieces = [last]
    if any(pieces):
        yield b"".join(pieces)


def _chunks(stream) -> Iterator[bytes]:
    """The stream's chunks, read (and decompressed) one ahead on a worker
    thread: zlib releases the GIL, so decompression overlaps the parsing."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-read") as reader:
        ahead = reader.submit(stream.read, _CHUNK)
        while chunk := ahead.result():
            ahead = reader.submit(stream.read, _CHUNK)
            yield chunk


def iter_export_lines(path: str | Path) -> Iterator[bytes]:
    """The lines of an export, decompressed when it is gzip (by its magic bytes)."""
    path = Path(path)
    try:
        with path.open("rb") as probe:
            compressed = probe.read(2) == GZIP_MAGIC
        # isal's gzip reads the same format three times faster than the zlib module.
        opener = igzip.open if compressed else open
        with opener(path, "rb") as stream:
            yield from _lines(stream)
    except FileNotFoundError:
        raise ExportUnreadable(f"portal export {path}: no such file") from None
    except IsADirectoryError:
        raise ExportUnreadable(f"portal export {path}: is a directory") from None
    except PermissionError:
        raise ExportUnreadable(f"portal export {path}: permission denied") from None
    except (OSError, EOFError) as error:
        # gzip raises BadGzipFile (an OSError) or EOFError on a damaged stream.
        raise ExportUnreadable(f"portal export {path}: cannot be read ({error})") from None
