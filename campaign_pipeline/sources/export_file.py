"""Reading a portal export file: JSON Lines of jobs, gzip-compressed or not."""

from isal import igzip
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

from campaign_pipeline.core.errors import JSON_LINES_HINT, ExportUnreadable

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 8 * 1024 * 1024


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # Reading big chunks and splitting them is several times faster than
    # readline() on a gzip stream whose lines are megabytes long; the pieces of
    # a long line are joined once, not copied again with every chunk.
    pieces: list[bytes] = []
    for chunk in chunks:
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


def _chunks(stream, file, progress) -> Iterator[bytes]:
    """The stream's chunks, read (and decompressed) one ahead on a worker
    thread: zlib releases the GIL, so decompression overlaps the parsing.
    `progress`, when given, advances by the bytes of the file behind each chunk
    (compressed bytes for a gzip file), as the chunk is taken."""

    def read() -> tuple[bytes, int]:
        return stream.read(_CHUNK), file.tell()

    position = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-read") as reader:
        ahead = reader.submit(read)
        while True:
            chunk, read_to = ahead.result()
            if not chunk:
                return
            ahead = reader.submit(read)
            if progress is not None:
                progress.advance(read_to - position)
                position = read_to
            yield chunk


def iter_export_lines(path: str | Path, progress=None) -> Iterator[bytes]:
    """The lines of an export, decompressed when it is gzip (by its magic bytes).
    `progress` (core.logs.Progress) counts the file's bytes against its size."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            compressed = file.read(2) == GZIP_MAGIC
            file.seek(0)
            if progress is not None:
                progress.set_total(path.stat().st_size)
            # isal's gzip reads the same format three times faster than the zlib module.
            with igzip.open(file, "rb") if compressed else file as stream:
                yield from _lines(_chunks(stream, file, progress))
    except FileNotFoundError:
        raise ExportUnreadable(f"portal export {path}: no such file") from None
    except IsADirectoryError:
        raise ExportUnreadable(f"portal export {path}: is a directory") from None
    except PermissionError:
        raise ExportUnreadable(f"portal export {path}: permission denied") from None
    except (OSError, EOFError) as error:
        # gzip raises BadGzipFile (an OSError) or EOFError on a damaged stream.
        raise ExportUnreadable(f"portal export {path}: cannot be read ({error})") from None


class ExportRead:
    """One read of an export file: its lines, and what the read saw of them."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.job_lines = 0
        self.first_line: bytes | None = None

    def lines(self, progress=None) -> Iterator[bytes]:
        for line in iter_export_lines(self.path, progress):
            if line and not line.isspace():
                if self.first_line is None:
                    self.first_line = line.lstrip()[:1]
                self.job_lines += 1
            yield line

    def warning(self) -> tuple[str, str] | None:
        return export_warning(self.path, self.first_line)


def export_warning(path: str | Path, first_line: bytes | None) -> tuple[str, str] | None:
    """(event, message) for an export that reads without error but surely is not
    what the user meant: no job line at all, or a JSON array where job objects
    should be (it would give an empty dataset and one `invalid_record`).
    `first_line` is the first non-blank line (its first byte is enough), None
    when there is none. The build still succeeds: the contract's output for
    such a file stands, but nobody should read it as "no recipients today"."""
    if first_line is None:
        return "export_empty", f"portal export {path}: no job line (the file is empty), so the datasets are empty"
    if first_line.lstrip().startswith(b"["):
        return (
            "export_not_json_lines",
            f"portal export {path}: the first line is a JSON array, not a job object; {JSON_LINES_HINT}",
        )
    return None
