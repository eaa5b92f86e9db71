#!/usr/bin/env python3
"""The crawler's worker in Python, on the standard-library client in samples/python.

Takes image URLs from ``crawl.images``, downloads each image, verifies it (size, SHA-256,
PNG signature), saves it, and acks with a result record. A transient failure (network, 5xx,
a corrupt download) is nacked for a retry; a permanent one (404) goes to the dead-letter queue.

    python3 samples/crawler/workers/python/worker.py --out downloads --name py-1 --idle 5
"""
from __future__ import annotations

import argparse
import hashlib
import os
import queue
import sys
import urllib.error
import urllib.request
from pathlib import Path

# The client is the package samples/python/taskwire; `pip install ./samples/python` makes this unneeded.
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "python"))
import taskwire  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PermanentError(Exception):
    """A failure no retry can fix."""


def fetch(task: dict, name: str) -> tuple[bytes, str]:
    """Downloads and verifies one image; returns its bytes and SHA-256."""
    request = urllib.request.Request(task["url"], headers={"User-Agent": f"taskwire-crawler/{name}"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code in (403, 404, 410):
            raise PermanentError(f"HTTP {error.code}") from None
        raise RuntimeError(f"HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(f"cannot fetch: {error}") from None
    if len(body) != task["size"]:
        raise RuntimeError(f"size {len(body)}, expected {task['size']}")
    digest = hashlib.sha256(body).hexdigest()
    if digest != task["sha256"]:
        raise RuntimeError(f"SHA-256 {digest[:12]}…, expected {task['sha256'][:12]}…")
    if not body.startswith(PNG_SIGNATURE):
        raise PermanentError("not a PNG file")
    return body, digest


def save(out: Path, task: dict, body: bytes) -> str:
    """Written beside the target and renamed, so a crash never leaves half a file under the real name."""
    folder = out / task["category"]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / task["name"]
    partial = folder / f"{task['name']}.{os.getpid()}.part"
    partial.write_bytes(body)
    os.replace(partial, target)
    return str(target)


def report(job: taskwire.Task, percent: float, message: str, detail: object = None) -> None:
    """Tells the manager (taskwire tail, taskwire workers, the sidebar) where the download
    stands. Best effort: a report that fails (the lease is gone) is the ack's to find out."""
    try:
        job.progress(percent, message, detail)
    except taskwire.TaskwireError as error:
        print(f"progress not reported: {error}", flush=True)


def handle(job: taskwire.Task, out: Path, name: str, retry_delay: float) -> None:
    task = job.payload
    try:
        report(job, 0, f"fetching {task['url']}")
        body, digest = fetch(task, name)
        report(job, 90, "saving", {"bytes": len(body)})
        path = save(out, task, body)
    except PermanentError as error:
        job.nack(error=str(error), retry=False)
        print(f"failed {task['url']}: {error} (permanent)", flush=True)
        return
    except RuntimeError as error:
        job.nack(error=str(error), delay=retry_delay)
        print(f"retry {task['url']}: {error}", flush=True)
        return
    result = {"url": task["url"], "file": path, "bytes": len(body), "sha256": digest,
              "worker": name, "language": "python", "attempt": job.attempt}
    job.ack(result)
    print(f"saved {task['url']} -> {path} (attempt {job.attempt})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Taskwire crawler worker (Python)")
    parser.add_argument("--out", default="downloads", help="folder for the images")
    parser.add_argument("--name", default=f"py-worker-{os.getpid()}", help="name shown in the registry and the summary")
    parser.add_argument("--queue", default="crawl.images", help="queue of image URLs")
    parser.add_argument("--idle", type=float, default=None, help="exit once the queue stays empty this many seconds")
    parser.add_argument("--retry-delay", type=float, default=0.2, help="seconds before a transient failure is retried")
    args = parser.parse_args()

    out = Path(args.out)
    with taskwire.connect(name=args.name, labels={"language": "python"}) as client:
        images = client.queue(args.queue)
        print(f"{args.name} ready: saving to {out}", flush=True)
        while True:
            try:
                job = images.get(True, timeout=args.idle)
            except queue.Empty:
                print(f"{args.name} exit: the queue stayed empty for {args.idle} s", flush=True)
                return 0
            handle(job, out, args.name, args.retry_delay)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except taskwire.TaskwireError as error:
        print(f"worker failed: {error}", file=sys.stderr)
        sys.exit(1)
