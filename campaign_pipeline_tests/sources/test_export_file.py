import gzip

import pytest

from campaign_pipeline.core.errors import ExportUnreadable
from campaign_pipeline.sources import export_file
from campaign_pipeline.sources.export_file import iter_export_lines

LINES = [b"a" * 30, b"", b"bb", b"c" * 7, b"d" * 100, b"e"]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("chunk", [1, 3, 7, 8, 64, 1 << 20])
def test_lines_come_back_whole_whatever_the_chunk_size(tmp_path, monkeypatch, compress, chunk):
    monkeypatch.setattr(export_file, "_CHUNK", chunk)
    data = b"\n".join(LINES) + b"\n"
    path = tmp_path / "export.jsonl"
    path.write_bytes(gzip.compress(data) if compress else data)
    assert list(iter_export_lines(path)) == LINES
    path.write_bytes(gzip.compress(data[:-1]) if compress else data[:-1])  # no newline at the end
    assert list(iter_export_lines(path)) == LINES


def test_gzip_is_recognised_by_its_magic_bytes_not_its_name(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(gzip.compress(b'{"id": 1}\n'))
    assert list(iter_export_lines(path)) == [b'{"id": 1}']


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b"\x1f\x8b\x08garbage"), "cannot be read"),
])
def test_unreadable_files_are_one_clear_error(tmp_path, make, message):
    path = tmp_path / "export.jsonl.gz"
    make(path)
    with pytest.raises(ExportUnreadable, match=message):
        list(iter_export_lines(path))


class Counter:
    def __init__(self):
        self.done, self.total = 0, None

    def advance(self, amount=1, **counters):
        self.done += amount

    def set_total(self, total):
        self.total = total


@pytest.mark.parametrize("compress", [False, True])
def test_progress_counts_the_files_bytes_up_to_its_size(tmp_path, monkeypatch, compress):
    monkeypatch.setattr(export_file, "_CHUNK", 64)
    data = b"\n".join(LINES * 20) + b"\n"
    path = tmp_path / "export.jsonl"
    path.write_bytes(gzip.compress(data) if compress else data)
    progress = Counter()
    assert list(iter_export_lines(path, progress)) == LINES * 20
    assert progress.total == progress.done == path.stat().st_size


@pytest.mark.parametrize("content, event", [
    (b"", "export_empty"),
    (b"\n \n\r\n", "export_empty"),
    (b'[{"id": "job-1"}]\n', "export_not_json_lines"),
    (b'\n  [{"id": "job-1"},\n', "export_not_json_lines"),
    (b'{"id": "job-1"}\n[1]\n', None),
])
def test_what_a_read_saw_says_whether_to_warn(tmp_path, content, event):
    path = tmp_path / "export.jsonl"
    path.write_bytes(content)
    read = export_file.ExportRead(path)
    list(read.lines())
    warning = read.warning()
    assert (warning[0] if warning else None) == event
    if warning:
        assert str(path) in warning[1]
