#!/usr/bin/env python3
"""CDK app: one stack per deployed stage of the Temporary Enrollment Pairings API.

Run by the CDK CLI (``make deploy STAGE=prod`` -> ``cdk deploy -c stage=prod``, which reads
``cdk.json``), or directly and offline by ``make synth`` and the tests: ``python
infra/cdk_app.py`` writes ``infra/cdk.out`` (or ``$CDK_OUTDIR``). Stage settings live in
``cdk.json`` under the ``pairings:stages`` context key; ``-c stage=NAME`` picks one, and with
no ``stage`` every stage is synthesized. See infra/README.md.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent
sys.path.insert(0, str(INFRA_DIR))  # pairings_infra, wherever the app is started from

import aws_cdk as cdk  # noqa: E402

from pairings_infra.settings import selected_stages  # noqa: E402
from pairings_infra.stack import PairingsStack  # noqa: E402


def stack_name(stage: str) -> str:
    return f"TemporaryEnrollmentPairings-{stage}"


def main() -> None:
    # Chalice's packager insists on a region although the template it writes names none
    # (the stack is environment-agnostic: it deploys wherever the CLI's credentials point).
    os.environ.setdefault(
        "AWS_DEFAULT_REGION",
        os.environ.get("AWS_REGION") or os.environ.get("CDK_DEFAULT_REGION") or "us-east-1",
    )
    # The CLI passes cdk.json's context itself; a direct run reads it here. Context given
    # by the CLI (cdk.json, -c) takes precedence over these defaults.
    context = json.loads((INFRA_DIR / "cdk.json").read_text())["context"]
    outdir = {} if os.environ.get("CDK_OUTDIR") else {"outdir": str(INFRA_DIR / "cdk.out")}
    app = cdk.App(context=context, **outdir)
    for settings in selected_stages(app.node):
        PairingsStack(app, stack_name(settings.name), settings=settings, source_dir=REPO_ROOT)
    app.synth()


if __name__ == "__main__":
    main()
