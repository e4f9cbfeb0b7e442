"""``SlimChalice``: Chalice's CDK construct, deploying a package without boto3/botocore.

``chalice.cdk.Chalice`` runs ``chalice package`` while the construct is created, writes
``deployment.zip`` and ``sam.json`` under ``<cwd>/chalice.out/<uuid>/``, then turns the zip
into a CDK file asset (staged into ``cdk.out`` and uploaded by ``cdk deploy``) and includes
the SAM template. The one seam between those two steps is ``_package_app``: we let Chalice
package as usual and slim the zip before the asset is made from it, so the asset hash, the
staged file in ``cdk.out`` and the uploaded code are all the slim package.

``_package_app`` is a private method of chalice 1.34.0 (pinned in infra/requirements.txt).
If an upgrade renames it, the package tests (tests/infra/test_infra_package.py) fail: they
open the asset the template really references and find botocore in it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

from chalice.cdk import Chalice
from constructs import Construct

from pairings_infra.slim import PACKAGE_BUDGET_BYTES, SlimReport, prepare_for_lambda


class PackageOverBudget(RuntimeError):
    """The slimmed Lambda package is still larger than the budget."""


class SlimChalice(Chalice):
    """A Chalice app whose Lambda package leaves out what the Lambda runtime provides."""

    #: What slimming did, for the synthesis log (set while the construct is created).
    slim_report: Optional[SlimReport] = None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_dir: str,
        stage_config: dict[str, Any],
        budget_bytes: int = PACKAGE_BUDGET_BYTES,
    ) -> None:
        self._budget_bytes = budget_bytes
        super().__init__(scope, construct_id, source_dir=source_dir, stage_config=stage_config)

    @property
    def deployment_zip(self) -> Path:
        """The package Chalice built for this construct (slim once the construct exists)."""
        return Path(self._sam_package_dir) / "deployment.zip"

    def _package_app(self) -> None:
        super()._package_app()
        self.slim_report = prepare_for_lambda(self.deployment_zip)
        # On stderr, so that `make synth` and `cdk deploy` show what is being shipped.
        print(f"Lambda package ({self.node.path}): {self.slim_report.summary()}", file=sys.stderr)
        if self.slim_report.bytes_after > self._budget_bytes:
            # Fail synthesis (and so any deploy) rather than ship an oversized package.
            raise PackageOverBudget(
                f"Lambda package is {self.slim_report.bytes_after} bytes, over the "
                f"{self._budget_bytes}-byte budget: {self.slim_report.summary()}"
            )
