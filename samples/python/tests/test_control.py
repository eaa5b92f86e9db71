"""Quiet and stop (spec §7.20) with a real manager: the state and its callback, Queue.work
obeying (quiet: no task taken; stopping: the task in hand acked, the client closed, work
returns), and SessionNotFound."""

import threading
import time
from typing import List

import pytest

import taskwire


def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_work_obeys_quiet_then_stop(manager, clients, qname) -> None:
    operator = manager.connect(name="operator", role="monitor")
    worker = manager.connect(name="py-worker")
    clients.extend([operator, worker])
    seen: List[str] = []
    worker.on_state(seen.append)
    queue = operator.queue(qname)
    queue.put("first")
    queue.put("second")
    release = threading.Event()
    handled: List[int] = []

    def handle(task: taskwire.Task) -> str:
        release.wait(10)
        return "done"

    thread = threading.Thread(target=lambda: handled.append(worker.queue(qname).work(handle)))
    thread.start()
    _until(lambda: queue.stats()["leased"] == 1)
    result = operator.quiet_client(worker.session_id)
    assert (result["state"], result["notified"]) == ("quiet", True)
    _until(lambda: worker.state == "quiet")
    release.set()
    _until(lambda: queue.stats()["totals"]["acked"] == 1)
    time.sleep(0.3)
    assert queue.stats()["ready"] == 1, "quiet: the second task is not taken"
    assert [c.get("state") for c in operator.clients() if c["sessionId"] == worker.session_id] == ["quiet"]
    assert operator.stop_client(worker.session_id)["state"] == "stopping"
    thread.join(10)
    assert not thread.is_alive()
    assert handled == [1]
    assert worker.closed, "work closed the client"
    _until(lambda: seen == ["quiet", "stopping"])
    assert queue.stats()["totals"]["released"] == 0


def test_quiet_of_an_unknown_session_is_session_not_found(client) -> None:
    with pytest.raises(taskwire.SessionNotFound) as caught:
        client.quiet_client("s-gone")
    assert (caught.value.code, caught.value.reason, caught.value.session) == (1007, "session_not_found", "s-gone")
    assert str(caught.value).startswith("session not found: no session s-gone is connected")
