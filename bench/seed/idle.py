"""Idle connections to the seed's manager: threads, each with its own authenticated connection
(the seed's proxies keep one connection per thread), blocked in get() on idle_queue; the
manager serves each connection with a thread of its own. One thread first ("warm"), then on
"go" cfg["count"] more."""

import threading

from common import connect
from benchchild import Control, config, emit

cfg = config()
control = Control()
count = cfg["count"]
threading.stack_size(256 * 1024)
manager = connect(cfg)
idle = manager.get_idle_queue()
connected = threading.Semaphore(0)
# The manager's listen backlog is 16: connect a few at a time, or SYNs get dropped and retried.
gate = threading.BoundedSemaphore(12)


def hold():
    with gate:
        idle.qsize()  # connect and authenticate this thread's connection
    connected.release()
    idle.get()  # blocks until the process is told to exit


def open_idle(n):
    for _ in range(n):
        threading.Thread(target=hold, daemon=True).start()
    for _ in range(n):
        connected.acquire()


open_idle(1)
emit("warm")
control.wait("go")
open_idle(count)
emit("ready", connections=count)
threading.Event().wait()
