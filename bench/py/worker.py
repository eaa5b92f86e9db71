"""A Taskwire worker on the Python client, one call per task: Queue.work runs the handler on
each task and then acks it with the result (which the manager routes to the task's replyTo
queue) and takes the next task in the same request (task/ack with next, spec §5.9.1)."""

import os

from common import connect
from benchchild import Control, config, emit

cfg = config()
control = Control()
client = connect(cfg, "bench-worker-%d" % os.getpid(), "worker")
tasks = client.queue("tasks")
client.ping()
emit("ready")

tasks.work(lambda task: "%s ---> success" % task.payload)
