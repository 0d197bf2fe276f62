"""What every domain uses: errors, JSON log lines, masking of personal data."""
