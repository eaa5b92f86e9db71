"""The seed's scheduler and two workers as real processes, and the offline install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import SAMPLE_DIR

EXPECTED_RESULTS = sorted(f"image_url_{i} ---> success" for i in range(10))


def _environment(**extra: str) -> Dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TASKWIRE_")}
    env["TASKWIRE_HOME"] = os.environ["TASKWIRE_HOME"]  # the tests' temporary home, never ~/.taskwire
    env["PYTHONPATH"] = str(SAMPLE_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _finish(process: subprocess.Popen, timeout: float) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"{process.args} did not finish in {timeout} s; it printed:\n{output}")
    return output


@pytest.mark.slow
def test_scheduler_and_two_workers(start_manager) -> None:
    server = start_manager()
    port = str(server.port)
    scheduler = subprocess.Popen(
        [sys.executable, str(SAMPLE_DIR / "scheduler.py"), "--port", port, "--authkey-file", str(server.key_file)],
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    workers: List[subprocess.Popen] = []
    try:
        for _ in range(2):
            workers.append(
                subprocess.Popen(
                    [sys.executable, str(SAMPLE_DIR / "worker.py")],
                    env=_environment(
                        TASKWIRE_PORT=port, TASKWIRE_AUTHKEY_FILE=str(server.key_file), DOWNLOAD_SECONDS="0.2"
                    ),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        scheduler_output = _finish(scheduler, 30)
        worker_outputs = [_finish(worker, 30) for worker in workers]
    finally:
        for process in [scheduler, *workers]:
            if process.poll() is None:
                process.kill()
                process.wait(5)

    assert scheduler.returncode == 0, scheduler_output
    assert [f"put task image_url_{i}..." for i in range(10)] == re.findall(r"^put task .*$", scheduler_output, re.M)
    results = re.findall(r"^result in (.*) $", scheduler_output, re.M)
    assert sorted(results) == EXPECTED_RESULTS

    downloads: List[str] = []
    for worker, output in zip(workers, worker_outputs):
        assert worker.returncode == 0, output
        assert output.startswith(f"connect to server ('127.0.0.1', {port})"), output
        assert output.rstrip().endswith("worker exit"), output
        taken = re.findall(r"^run task download (image_url_\d+)\.\.\.$", output, re.M)
        assert taken, f"a worker took no task:\n{output}"
        downloads += taken
    assert sorted(downloads) == sorted(f"image_url_{i}" for i in range(10))


@pytest.mark.slow
def test_offline_install_into_a_venv(tmp_path: Path) -> None:
    # pip and the build backend are what the README's offline install needs; scripts/setupTestTools.sh
    # installs flit_core in CI. Missing, this test fails saying so (it never skips).
    for module in ("pip", "flit_core"):
        found = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0
        assert found, f"{module} is not installed for {sys.executable}: run scripts/setupTestTools.sh (or pip install flit_core)"
    # A copy, so that the build leaves nothing behind in the sample's directory.
    source = tmp_path / "source"
    shutil.copytree(SAMPLE_DIR, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    # --without-pip: the system's pip, seen through --system-site-packages, installs into the venv.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"
    env = {**_environment(), "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--no-build-isolation", str(source)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [str(python), "-c", "import taskwire; print(taskwire.__file__); print(taskwire.__version__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    location, version = check.stdout.split()
    assert Path(location).resolve().is_relative_to(venv.resolve())
    assert version == "0.1.0"


def test_the_package_builds_for_pypi_with_its_metadata(tmp_path: Path) -> None:
    """The wheel and the sdist PyPI would get, built by the standard backend (flit_core)."""
    source = tmp_path / "source"
    shutil.copytree(SAMPLE_DIR, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    out = tmp_path / "dist"
    out.mkdir()
    build = subprocess.run(
        [sys.executable, "-c", f"from flit_core import buildapi as b; print(b.build_wheel({str(out)!r})); print(b.build_sdist({str(out)!r}))"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    wheel_name, sdist_name = build.stdout.split()
    import taskwire

    assert wheel_name == f"taskwire-{taskwire.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(out / wheel_name) as wheel:
        metadata = wheel.read(f"taskwire-{taskwire.__version__}.dist-info/METADATA").decode()
        names = wheel.namelist()
    for line in ("Name: taskwire", f"Version: {taskwire.__version__}", "License-Expression: MIT", "Requires-Python: >=3.9"):
        assert line in metadata.splitlines(), f"{line!r} not in METADATA:\n{metadata[:800]}"
    assert "taskwire/__init__.py" in names and f"taskwire-{taskwire.__version__}.dist-info/licenses/LICENSE" in names
    assert not any(name.startswith("tests/") for name in names), names
    with tarfile.open(out / sdist_name) as sdist:
        members = {member.name.split("/", 1)[1] for member in sdist.getmembers() if "/" in member.name}
    assert {"pyproject.toml", "README.md", "LICENSE", "taskwire/__init__.py"} <= members, sorted(members)
