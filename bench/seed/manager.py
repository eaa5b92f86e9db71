"""The seed's server process: a BaseManager exposing task_queue and result_queue (two
queue.Queue) over TCP with an authkey, as in distributed-processes.zh.txt.

The seed calls manager.start(), which forks a server process and runs exactly this server
(BaseManager.get_server().serve_forever()) in it; here the runner starts that server process
itself so that it knows its pid (for RSS and CPU) and can stop it. A third queue, idle_queue,
is where the "idle connections" workload blocks. Port 0: any free port, reported on stdout.
"""

import os
import queue
import sys
from multiprocessing.managers import BaseManager

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from benchchild import config, emit, read_key  # noqa: E402

task_queue = queue.Queue()
result_queue = queue.Queue()
idle_queue = queue.Queue()


class QueueManager(BaseManager):
    pass


QueueManager.register(typeid="get_task_queue", callable=lambda: task_queue)
QueueManager.register(typeid="get_result_queue", callable=lambda: result_queue)
QueueManager.register(typeid="get_idle_queue", callable=lambda: idle_queue)

cfg = config()
manager = QueueManager(address=(cfg["host"], 0), authkey=read_key(cfg["keyFile"]))
server = manager.get_server()
emit("ready", port=server.address[1], pid=os.getpid())
server.serve_forever()  # SIGTERM ends the process
