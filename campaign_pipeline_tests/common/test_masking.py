import polars as pl

from campaign_pipeline.common.masking import mask_email, mask_phone, mask_phone_expr, masked, scrub


def test_a_masked_phone_keeps_its_length_and_shows_neither_the_middle_nor_all():
    assert mask_phone("+358401234567") == "+35840*****67"
    assert pl.select(mask_phone_expr(pl.lit("+358401234567"))).item() == "+35840*****67"
    assert mask_phone("12345") == "*****"


def test_free_text_is_scrubbed_of_phones_and_emails():
    text = scrub("cannot reach +358 40 123 4567 or anna.aijala@example.fi")
    assert "123 4567" not in text and "anna.aijala" not in text
    assert mask_email("anna@example.fi") == "a***@example.fi"


def test_previews_mask_every_personal_column():
    frame = pl.DataFrame({"phone": ["+358401234567"], "first_name": ["Anna"], "last_name": ["Äijälä"],
                          "access_key": ["AK-SECRET"], "access_keys": ["AK-SECRET;;AK-2"], "job_id": ["job-1"]})
    row = masked(frame).row(0, named=True)
    assert row == {"phone": "+35840*****67", "first_name": "A***", "last_name": "Ä***",
                   "access_key": "***", "access_keys": "***", "job_id": "job-1"}


def test_ids_and_dates_are_not_mistaken_for_phones():
    text = "run f5456f17-151e-44e9-8218-8c372326061f on 2026-11-23 for job-2026-1123456"
    assert scrub(text) == text
    assert scrub("call 040 1234567 now") == "call 0401****67 now"


def test_the_log_masks_do_not_import_polars():
    # Every CLI command logs through common.logs; polars costs ~0.4 s to import.
    import subprocess
    import sys

    probe = "import sys, campaign_pipeline.common.logs; print('polars' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
