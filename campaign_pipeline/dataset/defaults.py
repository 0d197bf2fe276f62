"""The build's defaults. Standard library only: the command line's parser reads them."""

REGION = "FI"  # phone region for numbers written in national format
