"""cfn-lint on every synthesized template: no errors and no warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra_helpers import STAGES, stack_name


def test_cfn_lint_finds_nothing(cloud_assembly) -> None:
    templates = [str(cloud_assembly.outdir / f"{stack_name(stage)}.template.json") for stage in STAGES]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", *templates],
        capture_output=True, text=True, timeout=300,
    )
    # Exit status bits: 2 errors, 4 warnings, 8 informational (1 is a crash).
    assert result.returncode & (1 | 2 | 4) == 0, result.stdout + result.stderr


def test_synthesis_is_quick_enough_for_ci(cloud_assembly) -> None:
    # Both stages, offline, packaging included (the pip cache may be cold on CI).
    assert cloud_assembly.seconds < 300, cloud_assembly.seconds
