"""The Lambda package: the zip ``cdk deploy`` would upload, and the one ``make package``
builds, are within the 5 MB budget, hold the app and its libraries, leave out what Lambda's
Python runtime provides, and import with nothing but that runtime's libraries beside them."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from infra_helpers import INFRA_DIR, REPO_ROOT
from pairings_infra.slim import (
    PACKAGE_BUDGET_BYTES,
    RUNTIME_PROVIDED_DISTRIBUTIONS,
    canonical_name,
    slim_zip,
)

RUNTIME_TOP_LEVEL = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")


def top_level(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


def check_package(path: Path) -> list[str]:
    """Assert everything the issue asks of a deployable package; return its entries."""
    assert path.stat().st_size <= PACKAGE_BUDGET_BYTES, f"{path}: {path.stat().st_size} bytes"
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    roots = top_level(names)
    assert "app.py" in roots
    assert {"chalicelib", "pynamodb", "pydantic", "pydantic_core", "chalice"} <= roots
    assert not roots & set(RUNTIME_TOP_LEVEL), sorted(roots & set(RUNTIME_TOP_LEVEL))
    dist_infos = {
        canonical_name(root.rsplit("-", 1)[0]) for root in roots if root.endswith(".dist-info")
    }
    assert not dist_infos & RUNTIME_PROVIDED_DISTRIBUTIONS
    # Every module of the app is in it (the package is built from this tree).
    app_modules = {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "chalicelib").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert app_modules <= set(names), sorted(app_modules - set(names))
    # A Lambda-compatible build of pydantic's compiled core for the runtime's Python.
    assert any(
        name.startswith("pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu") for name in names
    ), [name for name in names if name.startswith("pydantic_core/_pydantic_core")]
    return names


def test_deployed_asset_is_slim_and_complete(cloud_assembly, stage: str) -> None:
    check_package(cloud_assembly.code_asset(stage))


def test_make_package_builds_the_same_slim_zip(cloud_assembly, tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = tmp_path / "package"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        ["make", "--no-print-directory", "package", f"PACKAGE_DIR={out}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "removed" in result.stdout and "botocore" in result.stdout
    names = check_package(out / "deployment.zip")
    assert (out / "sam.json").exists()
    with zipfile.ZipFile(cloud_assembly.code_asset("prod")) as deployed:
        assert sorted(names) == sorted(deployed.namelist())


def _runtime_libraries(directory: Path) -> Path:
    """A stand-in for Lambda's /var/runtime: only boto3/botocore and their dependencies,
    linked from this environment's site-packages."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    directory.mkdir()
    for name in RUNTIME_TOP_LEVEL:
        if (site_packages / name).exists():
            (directory / name).symlink_to(site_packages / name)
    assert (directory / "botocore").exists()
    return directory


@pytest.mark.skipif(
    platform.machine() != "x86_64" or sys.version_info[:2] != (3, 11) or sys.platform != "linux",
    reason="the package holds Linux x86_64 CPython 3.11 binaries, like the Lambda runtime",
)
def test_deployed_asset_imports_with_only_the_runtimes_libraries(cloud_assembly, tmp_path: Path) -> None:
    code = tmp_path / "task"  # like /var/task
    with zipfile.ZipFile(cloud_assembly.code_asset("prod")) as archive:
        archive.extractall(code)
    runtime = _runtime_libraries(tmp_path / "runtime")
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import app, botocore, pydantic_core, pynamodb\n"
        "assert app.app.app_name == 'temporary-enrollment-pairings'\n"
        "assert app.__file__.startswith(sys.argv[1]) and botocore.__file__.startswith(sys.argv[2])\n"
        "assert pydantic_core.__file__.startswith(sys.argv[1])\n"
        "print('ok')\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""), "PAIRINGS_TABLE": "pairings", "DIRECTORY_TABLE": "directory",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    # -S -I: no site-packages, no user paths: only the standard library, the package and
    # the runtime's libraries, as on Lambda.
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", probe, str(code), str(runtime)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


def _wheel_like_zip(path: Path) -> None:
    """A small package laid out as Chalice writes one: two distributions, one to drop."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "print('app')\n")
        archive.writestr("keepme/__init__.py", "")
        archive.writestr("keepme-1.0.dist-info/METADATA", "Name: keepme\nVersion: 1.0\n")
        archive.writestr(
            "keepme-1.0.dist-info/RECORD",
            "keepme/__init__.py,,\nkeepme-1.0.dist-info/METADATA,,\nkeepme-1.0.dist-info/RECORD,,\n",
        )
        archive.writestr("dateutil/__init__.py", "")
        archive.writestr("dateutil/tz/tz.py", "")
        archive.writestr("dateutilities/__init__.py", "")  # shares a prefix, not a distribution
        archive.writestr("python_dateutil-2.9.0.dist-info/METADATA", "Name: python-dateutil\n")
        archive.writestr(
            "python_dateutil-2.9.0.dist-info/RECORD",
            "dateutil/__init__.py,sha256=x,0\ndateutil/tz/tz.py,sha256=y,0\n"
            "python_dateutil-2.9.0.dist-info/METADATA,,\npython_dateutil-2.9.0.dist-info/RECORD,,\n",
        )
        archive.writestr("python_dateutil-2.9.0.data/scripts/x", "")


def test_slimming_removes_exactly_the_recorded_files(tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    _wheel_like_zip(package)
    report = slim_zip(package)
    assert report.removed_distributions == ("python-dateutil",)
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == [
            "app.py", "dateutilities/__init__.py", "keepme-1.0.dist-info/METADATA",
            "keepme-1.0.dist-info/RECORD", "keepme/__init__.py",
        ]
    again = slim_zip(package)
    assert again.removed_files == 0 and again.bytes_after == report.bytes_after


def test_slim_command_enforces_the_budget(tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    _wheel_like_zip(package)
    command = [sys.executable, "-m", "pairings_infra.slim", str(package)]
    env = {**os.environ, "PYTHONPATH": str(INFRA_DIR)}
    ok = subprocess.run(command, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    over = subprocess.run([*command, "--budget-bytes", "10"], env=env, capture_output=True, text=True)
    assert over.returncode == 1 and "over the budget" in over.stderr


def test_deployed_asset_carries_bytecode_for_every_module(cloud_assembly, stage: str) -> None:
    """Lambda's code directory is read-only: without __pycache__ every cold start compiles."""
    import importlib.util

    with zipfile.ZipFile(cloud_assembly.code_asset(stage)) as archive:
        names = set(archive.namelist())
        tag = sys.implementation.cache_tag
        for module in ("app.py", "chalicelib/http.py", "pydantic/main.py", "pynamodb/models.py"):
            directory, _, filename = module.rpartition("/")
            pyc = f"{directory + '/' if directory else ''}__pycache__/{filename[:-3]}.{tag}.pyc"
            assert pyc in names, pyc
            header = archive.read(pyc)[:16]
            assert header[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked
