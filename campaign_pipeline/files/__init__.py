"""Files: portal export files, suppression files, and whole-or-nothing output writes (local or S3)."""
