import gzip
import json
from pathlib import Path

import pytest


def job(job_id="job-1", organization_id="org-1", status="webshop_selling", activities=(), **extra):
    return {"id": job_id, "organization_id": organization_id, "name": f"Job {job_id}",
            "status": status, "activities": list(activities), **extra}


def activity(activity_id="act-1", job_id="job-1", subjects=(), group_name=None, **extra):
    return {"id": activity_id, "job_id": job_id, "name": f"Activity {activity_id}",
            "group_name": group_name, "subjects": list(subjects), **extra}


def subject(subject_id="subj-1", activity_id="act-1", phone="040 123 4567", consent=True,
            updated_at="2026-10-01T10:00:00+03:00", orders=(), deliveries=(), **extra):
    record = {"id": subject_id, "activity_id": activity_id, "first_name": "Anna",
              "last_name": "Äijälä", "updated_at": updated_at, "access_key": None,
              "user": {"phone": phone, "sms_consent": consent, "locale": "fi-FI"},
              "deliveries": None if deliveries is None else list(deliveries),
              "orders": None if orders is None else list(orders)}
    record.update(extra)
    return record


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


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's AWS server (S3, SNS, …) on 127.0.0.1 for the whole session: its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
