"""Helpers of the infrastructure tests (fixtures are in conftest.py beside this file)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
if str(INFRA_DIR) not in sys.path:
    # Appended, not prepended: the repository root (the Chalice app) keeps precedence.
    sys.path.append(str(INFRA_DIR))  # pairings_infra: settings and the stack's constants

from pairings_infra.settings import STAGES_CONTEXT_KEY, StageSettings  # noqa: E402

STAGES = ("dev", "prod")
NODE_MISSING = "Node.js is not installed: the AWS CDK needs it (jsii) to synthesize"


def stack_name(stage: str) -> str:
    return f"TemporaryEnrollmentPairings-{stage}"


def stage_settings(stage: str) -> StageSettings:
    """A stage's settings as the CDK app reads them from infra/cdk.json."""
    context = json.loads((INFRA_DIR / "cdk.json").read_text())["context"]
    return StageSettings.from_mapping(stage, context[STAGES_CONTEXT_KEY][stage])


def require_node() -> None:
    if shutil.which("node") is None:
        pytest.skip(NODE_MISSING)


def synth_environment(outdir: Path) -> dict[str, str]:
    """The test process's environment without its AWS settings (moto endpoint, table names),
    plus fake credentials and a region: synthesis must need nothing else."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_")) and key not in {"PAIRINGS_TABLE", "DIRECTORY_TABLE"}
    }
    env.update(
        AWS_ACCESS_KEY_ID="fake", AWS_SECRET_ACCESS_KEY="fake", AWS_DEFAULT_REGION="eu-west-1",
        CDK_OUTDIR=str(outdir),
    )
    return env


@dataclass(frozen=True)
class CloudAssembly:
    """A synthesized ``cdk.out`` and how long synthesis took."""

    outdir: Path
    seconds: float

    def template_json(self, stage: str) -> dict[str, Any]:
        return json.loads((self.outdir / f"{stack_name(stage)}.template.json").read_text())

    def code_asset(self, stage: str) -> Path:
        """The staged zip the function's CodeUri points at: what ``cdk deploy`` uploads."""
        template = self.template_json(stage)
        functions = [
            resource for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Serverless::Function"
        ]
        assert len(functions) == 1, functions
        key = functions[0]["Properties"]["CodeUri"]["Key"]
        asset_hash = key.removesuffix(".zip")
        manifest = json.loads((self.outdir / f"{stack_name(stage)}.assets.json").read_text())
        source = manifest["files"][asset_hash]["source"]
        assert source.get("packaging", "file") == "file", source
        return self.outdir / source["path"]


def only(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The single (logical id, resource) of a ``find_resources`` answer."""
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def table_ids(template: Any) -> dict[str, str]:
    """Logical ids of the two tables, by role: {"pairings": id, "directory": id}."""
    ids = {}
    for logical_id, resource in template.find_resources("AWS::DynamoDB::Table").items():
        name = resource["Properties"]["TableName"]
        ids["pairings" if "-pairings-" in name else "directory"] = logical_id
    assert set(ids) == {"pairings", "directory"}, ids
    return ids
