"""Reading suppression files (format: dataset/suppressions.py)."""

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.dataset.suppressions import for_every_organization, parse_suppressions, suppression_entries


def read_suppression_file(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        return suppression_entries(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"suppression file {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"suppression file {path}: is a directory") from None
    except UnicodeDecodeError:
        raise InputError(f"suppression file {path}: not UTF-8 text") from None
    except OSError as error:
        raise InputError(f"suppression file {path}: cannot be read ({error.strerror})") from None


def load_suppressions(paths: Iterable[str | Path], region: str) -> pl.DataFrame:
    """The files' suppressions: their distinct E.164 numbers, for every organization."""
    return load_suppression_list(paths, region)[0]


def load_suppression_list(paths: Iterable[str | Path], region: str) -> tuple[pl.DataFrame, int]:
    """(the files' suppressions, for every organization; how many entries did not parse)."""
    entries: list[str] = []
    for path in paths:
        entries.extend(read_suppression_file(path))
    numbers, invalid = parse_suppressions(entries, region)
    return for_every_organization(numbers), invalid
