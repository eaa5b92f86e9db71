"""The seed's producer (the scheduler's loop): put tasks one at a time, then read the results.

Modes (cfg["mode"]):
  pipeline  put N tasks, then get N results; clock from the first put to the last result.
            With cfg["warmupTasks"] K > 0, K tasks go through the same way before "ready"
            (not timed), so that the clock measures a manager that has run for a while.
  latency   put one task, wait for its result; warm-up round trips, then timed ones.
  memory    put N 20-byte tasks (or of cfg["size"] bytes) ("filled"), then on "drain" take them all back (get one at a
            time, as the seed must); the runner reads the manager's RSS in between.
"""

import time

from common import connect
from benchchild import Control, config, emit, payload, percentiles_input, pipeline, pipeline_urls, small_payload, warm_up

cfg = config()
control = Control()
manager = connect(cfg)
task = manager.get_task_queue()
result = manager.get_result_queue()
task.qsize()
result.qsize()
mode = cfg["mode"]


def take_result():
    return result.get(timeout=120)


warm_up(cfg, task.put, take_result)
emit("ready")
control.wait("go")

if mode == "pipeline":
    n = cfg["n"]
    urls = pipeline_urls(0, n, cfg.get("size", 0))
    start = time.perf_counter()
    seen = pipeline(urls, task.put, take_result)
    elapsed = time.perf_counter() - start
    emit("result", elapsed=elapsed, n=n, distinct=len(seen))

elif mode == "latency":
    warmup, count = cfg["warmup"], cfg["count"]
    samples = []
    for i in range(warmup + count):
        t0 = time.perf_counter_ns()
        task.put("image_url_%d" % i)
        result.get(timeout=30)
        t1 = time.perf_counter_ns()
        if i >= warmup:
            samples.append(t1 - t0)
    emit("result", samples=percentiles_input(samples))

elif mode == "memory":
    n, size = cfg["n"], cfg.get("size", 20)
    start = time.perf_counter()
    for i in range(n):
        task.put(small_payload(i) if size <= 20 else payload(i, size))
    emit("filled", elapsed=time.perf_counter() - start, n=n)
    control.wait("drain")
    start = time.perf_counter()
    for _ in range(n):
        task.get(timeout=30)
    emit("result", drainElapsed=time.perf_counter() - start, n=n)

# Stay until the runner closes stdin, so that it can still read this process's CPU time.
control.wait("exit")
