"""The seed's task process: take a task (blocking get with a timeout), put
"<task> ---> success" on the result queue, loop. No sleep: the benchmark measures the queue,
not the download. Runs until the runner closes stdin."""

import queue

from common import connect
from benchchild import Control, config, emit

cfg = config()
control = Control()
manager = connect(cfg)
task = manager.get_task_queue()
result = manager.get_result_queue()
task.qsize()  # open this thread's connection to each queue before the clock starts
result.qsize()
emit("ready")

while True:
    try:
        image_url = task.get(True, timeout=1)
    except queue.Empty:
        continue
    result.put("%s ---> success" % image_url)
