"""Build backend: setuptools, able to build this project's wheel without the `wheel` package.

setuptools builds wheels with the separate `wheel` package until version 70.1. Python 3.11
comes with setuptools 65.5 and no `wheel`, and a machine without access to PyPI cannot fetch
it, so `pip install --no-build-isolation` would fail there with "invalid command
'bdist_wheel'". When `wheel` is importable, every hook is setuptools' own. When it is not,
setuptools still computes the metadata (its `egg_info` command needs no `wheel`) and this
module zips the pure-Python package and that metadata into a `py3-none-any` wheel.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from setuptools import build_meta as _setuptools

# Hooks that never need `wheel`.
build_sdist = _setuptools.build_sdist
get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
get_requires_for_build_wheel = _setuptools.get_requires_for_build_wheel
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable

_ConfigSettings = Optional[Dict[str, Any]]


def _have_wheel() -> bool:
    return importlib.util.find_spec("wheel") is not None


def _egg_info(work_dir: str) -> Path:
    """Runs setuptools' egg_info into ``work_dir``; returns the .egg-info directory."""
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "egg_info", "--egg-base", work_dir],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (egg_info,) = Path(work_dir).glob("*.egg-info")
    return egg_info


def _metadata(work_dir: str) -> Tuple[str, str, List[str], List[str], bytes]:
    """(distribution name, version, top-level names, Python sources, METADATA) as setuptools
    computes them; the sources are the files of the packages and modules, relative paths."""
    egg_info = _egg_info(work_dir)
    pkg_info = (egg_info / "PKG-INFO").read_bytes()
    fields = {}
    for line in pkg_info.decode("utf-8").splitlines():
        if not line or line[0].isspace():
            continue
        if line.startswith(("Name:", "Version:")):
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    modules = (egg_info / "top_level.txt").read_text(encoding="utf-8").split()
    sources = [
        path
        for path in (egg_info / "SOURCES.txt").read_text(encoding="utf-8").splitlines()
        if path.endswith(".py") and (path.split("/")[0] in modules or path[: -len(".py")] in modules)
    ]
    return fields["Name"], fields["Version"], modules, sources, pkg_info


def _dist_info_files(name: str, version: str, modules: List[str], metadata: bytes) -> Dict[str, bytes]:
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    wheel = b"Wheel-Version: 1.0\nGenerator: taskwire_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    return {
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": wheel,
        f"{dist_info}/top_level.txt": "".join(f"{module}\n" for module in modules).encode("utf-8"),
    }


def _write_wheel(wheel_directory: str, name: str, version: str, files: Dict[str, bytes]) -> str:
    """Writes a wheel holding ``files`` and its RECORD; returns the wheel's file name."""
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files = {**files, f"{dist_info}/RECORD": ("\n".join(record_lines) + "\n").encode("utf-8")}
    wheel_name = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return wheel_name


def _prepare_metadata(metadata_directory: str) -> str:
    with tempfile.TemporaryDirectory() as work_dir:
        name, version, modules, _sources, metadata = _metadata(work_dir)
    for path, data in _dist_info_files(name, version, modules, metadata).items():
        target = Path(metadata_directory, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return f"{name.replace('-', '_')}-{version}.dist-info"


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: _ConfigSettings = None) -> str:
    if _have_wheel():
        return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
    return _prepare_metadata(metadata_directory)


def build_wheel(
    wheel_directory: str, config_settings: _ConfigSettings = None, metadata_directory: Optional[str] = None
) -> str:
    if _have_wheel():
        return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    with tempfile.TemporaryDirectory() as work_dir:
        name, version, modules, sources, metadata = _metadata(work_dir)
    files = {path: Path(path).read_bytes() for path in sources}
    files.update(_dist_info_files(name, version, modules, metadata))
    return _write_wheel(wheel_directory, name, version, files)


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: _ConfigSettings = None) -> str:
    if _have_wheel():
        return _setuptools.prepare_metadata_for_build_editable(metadata_directory, config_settings)
    return _prepare_metadata(metadata_directory)


def build_editable(
    wheel_directory: str, config_settings: _ConfigSettings = None, metadata_directory: Optional[str] = None
) -> str:
    if _have_wheel():
        return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    with tempfile.TemporaryDirectory() as work_dir:
        name, version, modules, _sources, metadata = _metadata(work_dir)
    # A .pth file puts this source directory on sys.path: edits take effect without reinstalling.
    files = {f"__editable__.{name}.pth": (os.path.abspath(".") + "\n").encode("utf-8")}
    files.update(_dist_info_files(name, version, modules, metadata))
    return _write_wheel(wheel_directory, name, version, files)


__all__ = [
    "build_sdist",
    "build_wheel",
    "build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "get_requires_for_build_editable",
    "prepare_metadata_for_build_wheel",
    "prepare_metadata_for_build_editable",
]
