import msgspec
import polars as pl
import pytest

from campaign_pipeline.dataset.decode import decode_activities, decode_export, decode_subjects, quarantine_of_activities
from campaign_pipeline.common.errors import ExportUnreadable
from campaign_pipeline.dataset.portal_records import Subject
from campaign_pipeline_tests.builders import activity, job, subject

import json


def lines(*objects):
    return [o if isinstance(o, bytes) else json.dumps(o).encode() for o in objects]


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-03-01T09:30:00Z",
        "2026-03-01T09:30:00+02:00",
        "2026-03-01T09:30:00-05:30",
        "2026-03-01T09:30:00.1Z",
        "2026-03-01T09:30:00.123456789123+02:00",
        "2024-02-29T00:00:00Z",
        "2000-02-29T23:59:59Z",
    ],
)
def test_timestamps_of_the_contract_are_valid(stamp):
    assert quarantined_for(stamp) == []


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-03-01T09:30:00",  # no offset means unparsable
        "2026-03-01 09:30:00Z",
        "2026-03-01t09:30:00Z",
        "2026-03-01T09:30:00z",
        "2026-03-01T09:30:00+0200",
        "2026-03-01T09:30Z",
        "2026-02-30T10:00:00Z",  # no such day
        "2023-02-29T10:00:00Z",
        "1900-02-29T10:00:00Z",
        "2026-03-01T24:00:00Z",
        "2026-03-01T09:60:00Z",
        "2026-03-01T09:30:60Z",
        "2026-03-01T09:30:00+24:00",
        "2026-03-01T09:30:00.Z",
        "0000-01-01T00:00:00Z",
        "",
        "2026-03-01T09:30:00Z\n",
        "\u0662\u0660\u0662\u0666-03-01T09:30:00Z",
    ],
)
def test_timestamps_outside_the_contract_quarantine_the_record(stamp):
    assert quarantined_for(stamp) == ["updated_at", "consent", "delivery", "order"]


def quarantined_for(stamp):
    """Which of four records, each with `stamp` in another place, are quarantined."""
    order = {"id": "o", "status": "paid", "created_at": stamp}
    records = [
        subject("updated_at", updated_at=stamp),
        subject("consent", user={"phone": "0401234567", "sms_consent": True, "sms_consent_at": stamp}),
        subject("delivery", deliveries=[{"phone": "0401234567", "created_at": stamp}]),
        subject("order", orders=[order]),
    ]
    quarantine = decode_subjects(decode_activities(lines(job(activities=[activity(subjects=records)])))).quarantine
    return quarantine.get_column("subject_id").to_list()


@pytest.mark.parametrize(
    "change",
    [
        {"id": 7},
        {"first_name": None},
        {"user": {"phone": "040 123 4567", "sms_consent": "yes"}},
        {"user": {"phone": "040 123 4567", "sms_consent": 1}},
        {"user": {"id": None}},
        {"deliveries": None},
        {"deliveries": [{"phone": "0401234567", "created_at": 1700000000}]},
        {"orders": [{"id": "o", "status": "lost", "created_at": "2026-03-01T09:30:00Z"}]},
        {"orders": [{"id": "o", "status": "paid", "created_at": "2026-03-01T09:30:00Z", "total_cents": 1.5}]},
        {"orders": [{"id": "o", "status": "paid", "created_at": "2026-03-01T09:30:00Z", "total_cents": True}]},
        {"access_key": 5},
    ],
)
def test_any_violation_inside_a_subject_quarantines_the_whole_record(change):
    bad = subject("subj-bad", **change)
    good = subject("subj-good")
    frame = decode_activities(lines(job(activities=[activity(subjects=[good, bad])])))
    subjects = decode_subjects(frame)
    assert subjects.records.get_column("subject_id").to_list() == ["subj-good"]
    assert subjects.quarantine.to_dicts() == [
        {"organization_id": "org-1", "segment": "", "job_id": "job-1", "activity_id": "act-1",
         "subject_id": "subj-bad" if "id" not in change else "", "reason": "invalid_record",
         "detail": "malformed subject"}
    ]


def test_unknown_fields_and_absent_optionals_are_fine():
    record = subject(extra_field={"x": 1})
    del record["deliveries"], record["orders"], record["access_key"]
    record["user"] = None
    subjects = decode_subjects(decode_activities(lines(job(activities=[activity(subjects=[record])]))))
    assert subjects.records.height == 1 and subjects.quarantine.height == 0


def test_non_selling_jobs_are_skipped_before_validation_and_jobs_narrowed_by_id():
    frame = decode_activities(
        lines(
            {"id": 1, "status": "draft"},
            job("job-1", activities=[activity()]),
            job("job-2", activities=[activity("act-2", "job-2")]),
            {"id": "job-3", "status": "webshop_selling", "organization_id": 5},
        ),
        job_ids=["job-2", "job-404"],
    )
    assert frame.get_column("activity_id").to_list() == ["act-2"]


def test_a_malformed_job_or_activity_is_one_row_and_nothing_under_it_is_read():
    frame = decode_activities(
        lines(
            [1, 2],
            {"id": "job-9", "status": "webshop_selling", "organization_id": 5, "name": "x",
             "activities": [activity(subjects=[subject()])]},
            job(activities=[{"id": "act-x", "job_id": "job-1"}, {**activity("act-y"), "subjects": "nope"}, "text", activity("act-ok")]),
        )
    )
    quarantine = quarantine_of_activities(frame).to_dicts()
    assert [(q["organization_id"], q["job_id"], q["activity_id"], q["detail"]) for q in quarantine] == [
        ("", "", "", "not a JSON object"),
        ("", "job-9", "", "malformed job"),
        ("org-1", "job-1", "act-x", "malformed activity"),
        ("org-1", "job-1", "act-y", "malformed activity"),
        ("org-1", "job-1", "", "malformed activity"),
    ]
    assert frame.filter(pl.col("reason").is_null()).get_column("activity_id").to_list() == ["act-ok"]


def test_a_line_that_is_not_json_makes_the_export_unreadable():
    with pytest.raises(ExportUnreadable, match="line 2: not JSON"):
        decode_activities(lines(job(), b"{not json", job("job-2")))


def test_blank_lines_are_skipped():
    frame = decode_activities([b"\n", json.dumps(job(activities=[activity()])).encode(), b"   \n"])
    assert frame.height == 1


def test_records_keep_the_order_they_were_seen_in():
    subjects_a = [subject(f"s{i}", "act-a") for i in (3, 1, 2)]
    subjects_b = [subject(f"s{i}", "act-b") for i in (9, 0)]
    frame = decode_activities(lines(job(activities=[activity("act-a", subjects=subjects_a), activity("act-b", subjects=subjects_b)])))
    records = decode_subjects(frame).records
    assert records.get_column("subject_id").to_list() == ["s3", "s1", "s2", "s9", "s0"]
    assert records.get_column("seq").to_list() == [0, 1, 2, 3, 4]


def test_the_stream_and_the_two_stages_decode_the_same(tmp_path):
    export = [job(activities=[activity("act-a", subjects=[subject("s1"), {"id": 2}]), {"id": "bad"}])]
    staged = decode_subjects(decode_activities(lines(*export)))
    activities, streamed = decode_export(lines(*export))
    for name in ("records", "candidates", "quarantine"):
        assert getattr(streamed, name).equals(getattr(staged, name)), name
    assert activities.get_column("activity_id").to_list() == ["act-a", "bad"]


def test_an_export_without_selling_jobs_gives_empty_frames():
    subjects = decode_subjects(decode_activities(lines(job(status="closed"))))
    assert subjects.records.height == 0 and subjects.candidates.height == 0 and subjects.quarantine.height == 0
