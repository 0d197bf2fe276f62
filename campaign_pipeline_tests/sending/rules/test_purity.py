import subprocess
import sys


def test_the_sending_rules_import_no_dagster_sqlalchemy_or_http():
    # A fresh interpreter: this test process has imported everything already. Every
    # module of the package, so a new rule module is held to it without a list to keep.
    code = ("import importlib, pkgutil, sys\n"
            "import campaign_pipeline.sending.rules as rules\n"
            "names = [m.name for m in pkgutil.iter_modules(rules.__path__)]\n"
            "assert {'templates', 'encoding', 'hours', 'senders', 'funnel', 'polling'} <= set(names), names\n"
            "for name in names: importlib.import_module(f'campaign_pipeline.sending.rules.{name}')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'sqlalchemy', 'httpx', 'boto3', 'pandera'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
