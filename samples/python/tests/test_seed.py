"""The seed's scheduler and two workers as real processes, and the offline install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.skip("pip is not available to this Python")
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
