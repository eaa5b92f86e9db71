"""The seed's "server process" (the scheduler), on Taskwire.

It puts ten tasks, image_url_0 ... image_url_9, on the queue "tasks", each with the reply
queue "results", and prints the ten results the workers send back. Unlike the seed, it does
not start the manager: start one with `npx taskwire serve`, then run this and some workers:

    python scheduler.py                       # 127.0.0.1:7400, key from ~/.taskwire/authkey
    python scheduler.py --port 8001 --authkey-file ./authkey

TASKWIRE_HOST, TASKWIRE_PORT, TASKWIRE_AUTHKEY and TASKWIRE_AUTHKEY_FILE work too.
"""

import argparse
import os

from taskwire import QueueManager

parser = argparse.ArgumentParser(description="Put ten tasks on Taskwire and print their results.")
parser.add_argument("--host", default=os.environ.get("TASKWIRE_HOST", "127.0.0.1"))
parser.add_argument("--port", type=int, default=int(os.environ.get("TASKWIRE_PORT", "7400")))
parser.add_argument("--authkey", help="the key as text (prefer --authkey-file or TASKWIRE_AUTHKEY)")
parser.add_argument("--authkey-file", help="the key file (default: TASKWIRE_AUTHKEY_FILE, then ~/.taskwire/authkey)")
args = parser.parse_args()

# Create the queues: nothing to do, the manager holds them by name ("tasks", "results").

# Register the methods that return the queues on the network.
QueueManager.register("get_task_queue")  # the queue "tasks"
QueueManager.register("get_result_queue")  # the queue "results"

# Create the manager instance, with the address and the key.
address = (args.host, args.port)
authkey = args.authkey.encode() if args.authkey else None  # None: the environment or the key file
manager = QueueManager(
    address=address, authkey=authkey, authkey_file=args.authkey_file, name="scheduler", role="producer"
)

# Connect to it (the seed's manager.start() ran the manager in this process; here it runs on its own).
manager.connect()

# Get the Queue objects accessed through the network.
task = manager.get_task_queue()
result = manager.get_result_queue()

# Add the tasks. The result of each goes to the result queue when a worker acks it.
for url in ["image_url_" + str(i) for i in range(10)]:
    print("put task %s..." % url)
    task.put(url, reply_to=result.name)

# Get the results: each is {"taskId": ..., "result": ...}; auto_ack takes it off the queue for good.
print("try get result...")
for i in range(10):
    print("result in %s " % result.get(timeout=10, auto_ack=True).payload["result"])

# Disconnect. The seed's manager.shutdown() stopped the manager it had started; this one keeps
# serving other clients (manager.shutdown() would stop it for all of them).
manager.close()
