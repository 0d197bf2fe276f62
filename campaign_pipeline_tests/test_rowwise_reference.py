"""The row-by-row reference (benchmarks/rowwise.py) against the contract cases."""

import importlib.util
import sys
from pathlib import Path

import pytest

from campaign_pipeline_tests.contract_cases import (
    CASES,
    DATASET_COLUMNS,
    EXCLUSION_COLUMNS,
    run_case,
)

ROWWISE_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "rowwise.py"


def _load_rowwise():
    spec = importlib.util.spec_from_file_location("benchmarks_rowwise", ROWWISE_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rowwise = _load_rowwise()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rowwise_reference(case, tmp_path):
    run_case(case, rowwise.build, tmp_path)


# Checks of the cases themselves, so that a slip in an expectation shows up here
# rather than as a disagreement between implementations.


def test_case_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_expectations_are_well_formed(case):
    for row in case.expected_rows:
        assert tuple(row) == DATASET_COLUMNS
        assert isinstance(row["subject_count"], int)
        assert row["subject_count"] == len(row["subject_ids"].split(";"))
        assert len(row["access_keys"].split(";")) == row["subject_count"]
        assert row["subject_ids"].split(";")[0] == row["subject_id"]
        assert row["segment"] in case.segments
    for exclusion in case.expected_exclusions:
        assert tuple(exclusion) == EXCLUSION_COLUMNS
        assert exclusion["segment"] in case.segments or (
            exclusion["segment"] == "" and exclusion["reason"] == "invalid_record"
        )
    row_keys = [
        tuple(r[c] for c in ("organization_id", "segment", "job_id", "activity_id", "subject_id"))
        for r in case.expected_rows
    ]
    assert row_keys == sorted(row_keys)
    exclusion_keys = [tuple(e.values()) for e in case.expected_exclusions]
    assert exclusion_keys == sorted(exclusion_keys)
    phones = [(r["organization_id"], r["segment"], r["phone"]) for r in case.expected_rows]
    assert len(phones) == len(set(phones))
    if case.unreadable:
        assert not case.expected_rows and not case.expected_exclusions


def test_rowwise_imports_nothing_of_the_pipeline():
    import ast

    imported = set()
    for node in ast.walk(ast.parse(ROWWISE_PATH.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"campaign_pipeline", "polars", "msgspec", "pandas"}


def test_rowwise_command_line(tmp_path):
    import json
    import subprocess

    export = tmp_path / "export.jsonl"
    export.write_text(
        json.dumps(
            {
                "id": "J1", "organization_id": "O1", "name": "Spring", "status": "webshop_selling",
                "activities": [{
                    "id": "A1", "job_id": "J1", "name": "5B", "group_name": "5B",
                    "subjects": [{
                        "id": "S1", "activity_id": "A1", "first_name": "Aino", "last_name": "V",
                        "updated_at": "2026-03-01T10:00:00Z",
                        "user": {"phone": "040 123 4567", "sms_consent": True},
                        "orders": [{"id": "O", "status": "paid", "created_at": "2026-03-01T10:00:00Z"}],
                    }],
                }],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    out, excluded = tmp_path / "out.csv", tmp_path / "excl.csv"
    done = subprocess.run(
        [sys.executable, str(ROWWISE_PATH), str(export), "--out", str(out), "--exclusions", str(excluded),
         "--non-buyers"],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == ",".join(DATASET_COLUMNS).encode() + b"\n"
    assert excluded.read_bytes() == ",".join(EXCLUSION_COLUMNS).encode() + b"\n"

    done = subprocess.run(
        [sys.executable, str(ROWWISE_PATH), str(export), "--out", str(out), "--group", "5B", "6A",
         "--job-id", "J1"],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().count(b"\n") == 2 and b"+358401234567" in out.read_bytes()

    export.write_text("{broken\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(ROWWISE_PATH), str(export)], capture_output=True)
    assert done.returncode == 2
    assert json.loads(done.stderr.decode().splitlines()[-1])["level"] == "error"

    done = subprocess.run(
        [sys.executable, str(ROWWISE_PATH), str(export), "--buyers", "--both"], capture_output=True
    )
    assert done.returncode == 2
