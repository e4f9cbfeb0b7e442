"""Strip the libraries Lambda's Python runtime already provides out of a Chalice package.

``chalice package`` bundles every dependency in requirements.txt, and PynamoDB depends on
botocore, so a naive package is about 20 MB, almost all of it botocore. Lambda's Python
runtimes ship boto3 and botocore (with s3transfer, jmespath, urllib3, python-dateutil and
six) on their import path, so we remove those distributions from the zip: every file that
their ``*.dist-info/RECORD`` lists, plus the dist-info and ``.data`` directories. Going by
RECORD (the installer's own list of a distribution's files) rather than by directory name
removes exactly those distributions and nothing that merely shares a prefix.

Used in two places, so that what is checked is what is deployed:

* ``SlimChalice`` (chalice_app.py) slims the package the CDK construct builds during
  synthesis, before it becomes the function's code asset, and adds its bytecode;
* ``make package`` runs ``chalice package`` and then this module's command line:
  ``python -m pairings_infra.slim DEPLOYMENT_ZIP``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Iterable, Optional, Sequence

#: Distributions on the Lambda Python runtime's own path (/var/runtime): boto3, botocore
#: and their dependencies. The app uses them only through botocore (PynamoDB's client).
RUNTIME_PROVIDED_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)

#: The issue's budget for the deployed zip: 5 MB.
PACKAGE_BUDGET_BYTES = 5_000_000


@dataclass(frozen=True)
class SlimReport:
    """What slimming removed, and the zip's size before and after."""

    removed_distributions: tuple[str, ...]
    removed_files: int
    bytes_before: int
    bytes_after: int
    compiled_modules: int = 0

    def summary(self) -> str:
        return (
            f"{self.bytes_before / 1e6:.2f} MB -> {self.bytes_after / 1e6:.2f} MB "
            f"(removed {self.removed_files} files of {', '.join(self.removed_distributions) or 'nothing'}; "
            f"bytecode added for {self.compiled_modules} modules)"
        )


def canonical_name(name: str) -> str:
    """A distribution name as PEP 503 normalizes it (``Python_DateUtil`` -> ``python-dateutil``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_name(archive: zipfile.ZipFile, dist_info: str) -> str:
    metadata = archive.read(f"{dist_info}/METADATA").decode("utf-8", "replace")
    name = HeaderParser().parsestr(metadata).get("Name")
    if not name:
        raise ValueError(f"{dist_info}/METADATA has no Name")
    return canonical_name(name)


def files_to_remove(
    archive: zipfile.ZipFile, drop: Iterable[str] = RUNTIME_PROVIDED_DISTRIBUTIONS
) -> tuple[set[str], list[str]]:
    """The zip entries belonging to the distributions in ``drop``, and those distributions."""
    wanted = {canonical_name(name) for name in drop}
    names = archive.namelist()
    remove: set[str] = set()
    removed: list[str] = []
    for entry in names:
        parts = entry.split("/")
        if len(parts) != 2 or not parts[0].endswith(".dist-info") or parts[1] != "RECORD":
            continue
        dist_info = parts[0]
        name = _distribution_name(archive, dist_info)
        if name not in wanted:
            continue
        removed.append(name)
        record = archive.read(entry).decode("utf-8")
        for row in csv.reader(io.StringIO(record)):
            if row and not row[0].startswith(("/", "..")):
                remove.add(row[0])
        # The metadata directories themselves, and wheel data (e.g. scripts) Chalice keeps.
        data_dir = dist_info[: -len(".dist-info")] + ".data/"
        remove.update(n for n in names if n.startswith((dist_info + "/", data_dir)))
    # Bytecode caches next to removed modules, should a package ever contain them.
    removed_modules = {os.path.splitext(path)[0] for path in remove if path.endswith(".py")}
    remove.update(
        n for n in names
        if "/__pycache__/" in n and _source_of_pyc(n) in removed_modules
    )
    return remove & set(names), sorted(removed)


def _source_of_pyc(path: str) -> str:
    directory, _, filename = path.rpartition("/__pycache__/")
    return f"{directory}/{filename.split('.', 1)[0]}"


def slim_zip(path: Path, drop: Iterable[str] = RUNTIME_PROVIDED_DISTRIBUTIONS) -> SlimReport:
    """Rewrite the zip at ``path`` in place without the distributions in ``drop``.

    Entries keep their order, timestamps, permissions and compression, so the result is as
    reproducible as the input. Running it twice is harmless (the second run removes nothing).
    """
    path = Path(path)
    before = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        remove, removed = files_to_remove(archive, drop)
        if not remove:
            return SlimReport((), 0, before, before)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".zip")
        os.close(handle)
        try:
            with zipfile.ZipFile(temporary, "w") as slim:
                for info in archive.infolist():
                    if info.filename not in remove:
                        slim.writestr(info, archive.read(info), compress_type=info.compress_type)
            shutil.copymode(path, temporary)  # mkstemp made it 0600
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    return SlimReport(tuple(removed), len(remove), before, path.stat().st_size)


#: The Lambda runtime's Python: bytecode is only useful when compiled by the same version.
LAMBDA_PYTHON = (3, 11)
#: Where Lambda unpacks the package (shown in tracebacks from the compiled modules).
LAMBDA_TASK_ROOT = "/var/task"
#: A fixed timestamp for added entries, so the same input gives the same zip.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def add_bytecode(path: Path) -> int:
    """Add compiled bytecode for every module in the zip; returns how many were added.

    Lambda's code directory is read-only, so without ``__pycache__`` in the package every
    cold start compiles pydantic, PynamoDB and the app again (measured: importing the app
    from the package took 0.44 s without bytecode, 0.27 s with it). The bytecode is
    "unchecked hash" based: no timestamps (reproducible) and never re-validated against
    the source, which cannot change inside a deployed package. Only the Lambda runtime's
    Python version can compile it; under another, the zip is left as it is.
    """
    import py_compile

    if sys.version_info[:2] != LAMBDA_PYTHON:
        return 0
    path = Path(path)
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        missing = [
            name for name in archive.namelist()
            if name.endswith(".py") and _pyc_name(name, tag) not in names
        ]
        if not missing:
            return 0
        with tempfile.TemporaryDirectory() as workdir:
            compiled: list[tuple[str, bytes]] = []
            for name in missing:
                source = Path(workdir) / "module.py"
                target = Path(workdir) / "module.pyc"
                source.write_bytes(archive.read(name))
                try:
                    py_compile.compile(
                        str(source), cfile=str(target), dfile=f"{LAMBDA_TASK_ROOT}/{name}", doraise=True,
                        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                    )
                except py_compile.PyCompileError:
                    continue  # e.g. a test fixture with deliberate syntax errors: left as source
                compiled.append((_pyc_name(name, tag), target.read_bytes()))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in compiled:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return len(compiled)


def _pyc_name(module: str, tag: str) -> str:
    directory, _, filename = module.rpartition("/")
    prefix = f"{directory}/" if directory else ""
    return f"{prefix}__pycache__/{filename[:-3]}.{tag}.pyc"


def prepare_for_lambda(path: Path) -> SlimReport:
    """Slim the package, then add its bytecode: what is deployed, in place."""
    slimmed = slim_zip(path)
    compiled = add_bytecode(path)
    return dataclasses.replace(slimmed, bytes_after=Path(path).stat().st_size, compiled_modules=compiled)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m pairings_infra.slim ZIP``: slim it and enforce the size budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zip", type=Path, help="the deployment.zip written by chalice package")
    parser.add_argument("--budget-bytes", type=int, default=PACKAGE_BUDGET_BYTES)
    args = parser.parse_args(argv)
    report = prepare_for_lambda(args.zip)
    print(f"{args.zip}: {report.summary()}")
    if report.bytes_after > args.budget_bytes:
        print(
            f"error: {args.zip} is {report.bytes_after} bytes, over the budget of "
            f"{args.budget_bytes}", file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
