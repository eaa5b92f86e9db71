"""Connecting to the seed's manager the way the seed's task process does."""

import os
import sys
from multiprocessing.managers import BaseManager

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from benchchild import read_key  # noqa: E402,F401


class QueueManager(BaseManager):
    pass


# Register the names only: the queues live in the manager.
QueueManager.register(typeid="get_task_queue")
QueueManager.register(typeid="get_result_queue")
QueueManager.register(typeid="get_idle_queue")


def connect(cfg):
    manager = QueueManager(address=(cfg["host"], cfg["port"]), authkey=read_key(cfg["keyFile"]))
    manager.connect()
    return manager
