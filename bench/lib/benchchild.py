"""What every Python process of the benchmark shares: its configuration, its control channel
and its payloads.

The runner (bench/run.mjs) starts each process with one JSON argument (its configuration),
reads JSON lines from its stdout ({"event": "ready"}, {"event": "result", ...}) and writes
words to its stdin ("go", "drain"). When the runner closes stdin, the process exits at once:
a runner that stops (or crashes) never leaves a worker behind.
"""

import json
import os
import queue
import sys
import threading

def config():
    return json.loads(sys.argv[1])


def read_key(path):
    with open(path, "rb") as f:
        return f.read().strip()


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def payload(i, size):
    """``image_url_<i>``; with a size, padded with "x" to exactly that many bytes."""
    base = "image_url_%d" % i
    if not size or size <= len(base) + 1:
        return base
    return base + "_" + "x" * (size - len(base) - 1)


def pipeline_urls(first, n, size):
    """The payloads of tasks first .. first + n - 1, made before a clock starts."""
    return [payload(first + i, size) for i in range(n)]


def pipeline(urls, put, take):
    """Puts each url with put(url), then takes as many results with take(); the distinct
    results taken (the seed's result strings, or Taskwire's task ids)."""
    seen = set()
    for url in urls:
        put(url)
    for _ in range(len(urls)):
        seen.add(take())
    return seen


def warm_up(cfg, put, take):
    """A pipeline's untimed warm-up (cfg["warmupTasks"]: bench/run.mjs --pipeline-warmup), run
    before the producer says it is ready, after the tasks it times (their numbers follow N)."""
    if cfg["mode"] == "pipeline" and cfg.get("warmupTasks", 0) > 0:
        pipeline(pipeline_urls(cfg["n"], cfg["warmupTasks"], cfg.get("size", 0)), put, take)


def small_payload(i):
    """Exactly 20 bytes (the memory workload)."""
    return "task_%015d" % i


class Control:
    """Words from the runner on stdin; stdin closed means: exit now."""

    def __init__(self):
        self._words = queue.Queue()
        thread = threading.Thread(target=self._read, name="bench-control", daemon=True)
        thread.start()

    def _read(self):
        for line in sys.stdin:
            self._words.put(line.strip())
        sys.stdout.flush()
        os._exit(0)

    def wait(self, word):
        while True:
            if self._words.get() == word:
                return


def percentiles_input(samples_ns):
    """Round trips in microseconds (floats), as sent to the runner."""
    return [round(s / 1000.0, 1) for s in samples_ns]
