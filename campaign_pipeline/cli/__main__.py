"""`python -m campaign_pipeline.cli`, as before the command line became a package."""

import sys

from campaign_pipeline.cli import main

sys.exit(main())
