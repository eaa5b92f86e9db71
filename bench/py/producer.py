"""A Taskwire producer on the Python client, one call per task (modes as bench/seed/producer.py:
pipeline and latency). Results come back on "results" as {"taskId", "result"}; the producer
takes them with auto_ack (at-most-once, one call per result)."""

import time

from common import connect
from benchchild import Control, config, emit, percentiles_input, pipeline, pipeline_urls, warm_up

cfg = config()
control = Control()
client = connect(cfg, "bench-producer", "producer")
tasks = client.queue("tasks")
results = client.queue("results")
client.ping()
mode = cfg["mode"]


def put_task(url):
    tasks.put(url, reply_to="results")


def take_result():
    return results.get(True, timeout=120, auto_ack=True).payload["taskId"]


warm_up(cfg, put_task, take_result)
emit("ready")
control.wait("go")

if mode == "pipeline":
    n = cfg["n"]
    urls = pipeline_urls(0, n, cfg.get("size", 0))
    start = time.perf_counter()
    seen = pipeline(urls, put_task, take_result)
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
