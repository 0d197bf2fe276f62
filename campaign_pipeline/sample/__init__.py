"""The bundled sample: a messy portal export and a suppression list made from it.

Both files are written by `python -m campaign_pipeline.sample.generate --sample`
and a test checks they still equal a fresh regeneration, so they never drift from
the generator.
"""

from pathlib import Path

_HERE = Path(__file__).parent

SAMPLE_EXPORT = _HERE / "portal_export.jsonl.gz"
SAMPLE_SUPPRESSIONS = _HERE / "suppressions.csv"
