"""Fixtures of the campaign tests (campaign_fixtures.py): `write_dataset`, `engine`."""

from campaign_pipeline_tests.sending.campaign_fixtures import engine, write_dataset

__all__ = ["engine", "write_dataset"]
