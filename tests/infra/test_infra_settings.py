"""Stage settings (infra/cdk.json) and the make targets' wiring; no synthesis needed."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from infra_helpers import INFRA_DIR, REPO_ROOT, STAGES, stage_settings
from pairings_infra.settings import SettingsError, StageSettings


def dev_values() -> dict[str, Any]:
    return dict(json.loads((INFRA_DIR / "cdk.json").read_text())["context"]["pairings:stages"]["dev"])


def test_cdk_json_defines_dev_and_prod() -> None:
    stages = json.loads((INFRA_DIR / "cdk.json").read_text())["context"]["pairings:stages"]
    assert set(STAGES) <= set(stages)
    for stage in STAGES:
        stage_settings(stage)  # validates
    assert stage_settings("prod").retain_data and not stage_settings("dev").retain_data


def test_cdk_json_runs_the_app_with_the_projects_python() -> None:
    config = json.loads((INFRA_DIR / "cdk.json").read_text())
    assert config["app"] == "../.venv/bin/python cdk_app.py"
    assert (INFRA_DIR / "cdk_app.py").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"lambda_timeout_seconds": 29}, "lambda_timeout_seconds"),
        ({"log_retention_days": 0}, "log_retention_days"),
        ({"throttling_rate_limit": 0}, "throttling"),
        ({"auth_cache_seconds": 61}, "auth_cache_seconds"),
        ({"api_endpoint_type": "PRIVATE"}, "api_endpoint_type"),
        ({"lambda_memory": 512}, "unknown setting"),
    ],
)
def test_bad_settings_fail_synthesis_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        StageSettings.from_mapping("dev", {**dev_values(), **change})


def test_a_missing_setting_is_named() -> None:
    values = dev_values()
    del values["throttling_burst_limit"]
    with pytest.raises(SettingsError, match="throttling_burst_limit"):
        StageSettings.from_mapping("dev", values)


def _dry_run(*arguments: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", *arguments], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_deploy_deploys_the_chosen_stage_with_the_pinned_cli() -> None:
    commands = _dry_run("deploy", "STAGE=prod")
    assert "./node_modules/.bin/cdk deploy -c stage=prod" in commands
    assert "deploy -c stage=dev" in _dry_run("deploy")
    lock = json.loads((INFRA_DIR / "package-lock.json").read_text())
    package = json.loads((INFRA_DIR / "package.json").read_text())
    pinned = package["devDependencies"]["aws-cdk"]
    assert pinned[0].isdigit() and lock["packages"]["node_modules/aws-cdk"]["version"] == pinned


def test_make_destroy_refuses_prod() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # Not a dry run: the guard is the first command and needs nothing installed.
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv/.installed-infra",
         "-o", "infra/node_modules/.installed",
         "destroy", "STAGE=prod"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "refusing to destroy prod" in result.stderr
