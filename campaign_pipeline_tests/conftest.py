import gzip
import json
from pathlib import Path

import pytest


def write_export(path: Path, lines, compress: bool = False) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    path.write_bytes(gzip.compress(text.encode(), mtime=0) if compress else text.encode())
    return path


@pytest.fixture
def export(tmp_path):
    """Writes export lines to a file and returns its path."""
    counter = iter(range(1000))

    def _write(lines, compress=False):
        suffix = ".jsonl.gz" if compress else ".jsonl"
        return write_export(tmp_path / f"export-{next(counter)}{suffix}", lines, compress)

    return _write
