import json

from dagster import DagsterInstance, build_run_status_sensor_context, materialize

from campaign_pipeline.orchestration.alerts import run_failure_alert
from campaign_pipeline.definitions import ASSETS, resources_from_env


def test_a_failed_run_gives_one_alert_line_with_its_run_id(tmp_path, capsys):
    instance = DagsterInstance.ephemeral()
    bad_export = tmp_path / "broken.jsonl"
    bad_export.write_text('{"id": "job-1", "status": "webshop_selling"}\n{not json\n')
    resources = resources_from_env({"PORTAL_EXPORT": str(bad_export), "CAMPAIGN_OUTPUT_URI": str(tmp_path / "out")})
    result = materialize(ASSETS[:2], partition_key="2026-11-23", resources=resources, instance=instance,
                         raise_on_error=False)
    assert not result.success
    failure_event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_event=failure_event, dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    capsys.readouterr()
    run_failure_alert(context)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    alert = json.loads(lines[0])
    assert alert["level"] == "error" and alert["event"] == "run_failed_alert"
    assert alert["run_id"] == result.run_id and result.run_id in alert["message"]
