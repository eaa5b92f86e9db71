"""A Taskwire worker on the Python client, one call per task: get (blocking, with a timeout)
then ack with the result, which the manager routes to the task's replyTo queue."""

import os
import queue

from common import connect
from benchchild import Control, config, emit

cfg = config()
control = Control()
client = connect(cfg, "bench-worker-%d" % os.getpid(), "worker")
tasks = client.queue("tasks")
client.ping()
emit("ready")

while True:
    try:
        task = tasks.get(True, timeout=1)
    except queue.Empty:
        continue
    task.ack("%s ---> success" % task.payload)
