"""The exit codes of campaign-cli: 0 done, 1 the run failed, 2 a usage mistake."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
