"""The seed's "task process" (the worker), on Taskwire.

It takes tasks from the queue "tasks", "downloads" each one (a sleep) and acks it with the
result "<url> ---> success", which the manager routes to the scheduler's "results" queue. It
exits when the queue stays empty for five seconds. Start as many as you like, here or on
other machines: the tasks are shared, and a task whose worker dies goes back to the queue.

    python worker.py                          # 127.0.0.1:7400, key from ~/.taskwire/authkey
    python worker.py --port 8001 --authkey-file ./authkey

TASKWIRE_HOST, TASKWIRE_PORT, TASKWIRE_AUTHKEY and TASKWIRE_AUTHKEY_FILE work too, and
DOWNLOAD_SECONDS sets the length of the "download" (default 1, as in the seed).
"""

import argparse
import os
import queue
import time

from taskwire import QueueManager, ShuttingDown

parser = argparse.ArgumentParser(description="Take tasks from Taskwire until the queue stays empty.")
parser.add_argument("--host", default=os.environ.get("TASKWIRE_HOST", "127.0.0.1"))
parser.add_argument("--port", type=int, default=int(os.environ.get("TASKWIRE_PORT", "7400")))
parser.add_argument("--authkey", help="the key as text (prefer --authkey-file or TASKWIRE_AUTHKEY)")
parser.add_argument("--authkey-file", help="the key file (default: TASKWIRE_AUTHKEY_FILE, then ~/.taskwire/authkey)")
args = parser.parse_args()
download_seconds = float(os.environ.get("DOWNLOAD_SECONDS", "1"))

# Register the name of the method that returns the queue. (No result queue: the ack carries
# the result to the queue the scheduler named as the task's reply queue.)
QueueManager.register("get_task_queue")  # the queue "tasks"

# Connect to the server: address and key exactly as the scheduler's.
server_addr = (args.host, args.port)
print("connect to server %s" % str(server_addr))
authkey = args.authkey.encode() if args.authkey else None  # None: the environment or the key file
manager = QueueManager(
    address=server_addr, authkey=authkey, authkey_file=args.authkey_file, name="worker-%d" % os.getpid()
)
manager.connect()

# Get the queue object.
task = manager.get_task_queue()

# The seed looped "while not task.empty()", which races with other workers; here get() waits
# up to five seconds and raises queue.Empty when nothing came.
try:
    jobs = [task.get(True, timeout=5)]
except queue.Empty:
    jobs = []
except ShuttingDown:
    print("the manager shut down")
    jobs = []
while jobs:
    job = jobs[0]
    image_url = job.payload
    print("run task download %s..." % image_url)
    time.sleep(download_seconds)
    # The seed's result.put(...) then task.get(...): the ack carries the result and takes the
    # next task in the same exchange; [] when none came within five seconds.
    try:
        jobs = job.ack_and_get_next("%s ---> success" % image_url, timeout=5)
    except ShuttingDown:
        print("the manager shut down")
        break

# Processing finished.
print("worker exit")
manager.close()
