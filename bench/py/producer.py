"""A Taskwire producer on the Python client, one call per task (modes as bench/seed/producer.py:
pipeline and latency). Results come back on "results" as {"taskId", "result"}; the producer
takes them with auto_ack (at-most-once, one call per result)."""

import time

from common import connect
from benchchild import Control, config, emit, payload, percentiles_input

cfg = config()
control = Control()
client = connect(cfg, "bench-producer", "producer")
tasks = client.queue("tasks")
results = client.queue("results")
client.ping()
mode = cfg["mode"]


def pipeline(first, n, size):
    """Puts tasks first .. first + n - 1, then gets n results; the distinct task ids answered."""
    urls = [payload(first + i, size) for i in range(n)]
    seen = set()
    for url in urls:
        tasks.put(url, reply_to="results")
    for _ in range(n):
        seen.add(results.get(True, timeout=120, auto_ack=True).payload["taskId"])
    return seen


# A warm-up (cfg["warmupTasks"]) runs the same way before "ready", not timed.
if mode == "pipeline" and cfg.get("warmupTasks", 0) > 0:
    pipeline(cfg["n"], cfg["warmupTasks"], cfg.get("size", 0))
emit("ready")
control.wait("go")

if mode == "pipeline":
    n, size = cfg["n"], cfg.get("size", 0)
    start = time.perf_counter()
    seen = pipeline(0, n, size)
    elapsed = time.perf_counter() - start
    emit("result", elapsed=elapsed, n=n, distinct=len(seen))

elif mode == "latency":
    warmup, count = cfg["warmup"], cfg["count"]
    samples = []
    for i in range(warmup + count):
        t0 = time.perf_counter_ns()
        tasks.put("image_url_%d" % i, reply_to="results")
        results.get(True, timeout=30, auto_ack=True)
        t1 = time.perf_counter_ns()
        if i >= warmup:
            samples.append(t1 - t0)
    emit("result", samples=percentiles_input(samples))

# Stay until the runner closes stdin, so that it can still read this process's CPU time.
control.wait("exit")
