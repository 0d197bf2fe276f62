"""Portal objects for tests, as the portal API and its export give them: a job,
its activities, their subjects. Defaults make a selling job with one consenting
subject; keywords change any field. The lists come last, as in an export line."""

from collections.abc import Iterable
from typing import Any

SELLING = "webshop_selling"


def job(job_id="job-1", status=SELLING, activities: Iterable[Any] = (), organization_id="org-1", **extra):
    return {"id": job_id, "organization_id": organization_id, "name": f"Job {job_id}",
            "status": status, **extra, "activities": list(activities)}


def activity(activity_id="act-1", job_id="job-1", subjects: Iterable[Any] | int = (), group_name=None, **extra):
    """`subjects` may be a count: that many subjects, ids `<activity_id>-s<n>`."""
    if isinstance(subjects, int):
        subjects = [subject(f"{activity_id}-s{n}", activity_id) for n in range(subjects)]
    return {"id": activity_id, "job_id": job_id, "name": f"Activity {activity_id}",
            "group_name": group_name, **extra, "subjects": list(subjects)}


def subject(subject_id="subj-1", activity_id="act-1", phone="040 123 4567", consent=True,
            updated_at="2026-10-01T10:00:00+03:00", orders=(), deliveries=(), **extra):
    record = {"id": subject_id, "activity_id": activity_id, "first_name": "Anna",
              "last_name": "Äijälä", "updated_at": updated_at, "access_key": None,
              "user": {"phone": phone, "sms_consent": consent, "locale": "fi-FI"},
              "deliveries": None if deliveries is None else list(deliveries),
              "orders": None if orders is None else list(orders)}
    record.update(extra)
    return record
