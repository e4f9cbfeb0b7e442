"""Fixtures of the infrastructure tests: one offline synthesis of every stage per session.

The CDK app runs as ``make synth`` runs it (``python infra/cdk_app.py``), in a subprocess with
fake AWS credentials and a region, writing to a temporary ``cdk.out``. The tests then read
that cloud assembly: the templates through ``aws_cdk.assertions.Template``, the staged code
asset as the zip ``cdk deploy`` would upload. The CDK needs Node.js (its jsii runtime):
without ``node`` the tests that synthesize are skipped, saying so; CI has Node.js.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any, Iterator

import pytest

from infra_helpers import (
    INFRA_DIR,
    STAGES,
    CloudAssembly,
    StageSettings,
    require_node,
    stage_settings,
    synth_environment,
)


@pytest.fixture(scope="session")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    require_node()
    outdir = tmp_path_factory.mktemp("cdk.out")
    workdir = tmp_path_factory.mktemp("synth")  # Chalice's construct writes chalice.out/ here
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(INFRA_DIR / "cdk_app.py")],
        cwd=workdir, env=synth_environment(outdir),
        capture_output=True, text=True, timeout=900,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        pytest.fail(
            f"synthesis failed ({result.returncode}):\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}",
            pytrace=False,
        )
    return CloudAssembly(outdir, seconds)


@pytest.fixture(params=STAGES)
def stage(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def template_json(cloud_assembly: CloudAssembly, stage: str) -> dict[str, Any]:
    return cloud_assembly.template_json(stage)


@pytest.fixture
def template(template_json: dict[str, Any]) -> Iterator[Any]:
    """The stage's template as an ``aws_cdk.assertions.Template``."""
    from aws_cdk.assertions import Template

    yield Template.from_json(template_json)


@pytest.fixture
def settings(stage: str) -> StageSettings:
    return stage_settings(stage)
