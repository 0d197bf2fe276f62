import subprocess
import sys


def test_the_sending_rules_import_no_dagster_sqlalchemy_or_http():
    # A fresh interpreter: this test process has imported everything already.
    code = ("import sys\n"
            "import campaign_pipeline.sending.rules.templates, campaign_pipeline.sending.rules.encoding\n"
            "import campaign_pipeline.sending.rules.lifecycle, campaign_pipeline.sending.rules.windows\n"
            "import campaign_pipeline.sending.rules.hours, campaign_pipeline.sending.rules.keywords\n"
            "import campaign_pipeline.sending.rules.funnel\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'sqlalchemy', 'httpx', 'boto3', 'pandera'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
