"""Blocking gets, timeouts, cancellation and many threads on one client."""

from __future__ import annotations

import queue
import threading
import time
from typing import Dict, List

import pytest

import taskwire
from conftest import Manager, fake_handshake, fake_manager, read_json, send_json, wait_until


def test_get_raises_queue_empty_after_its_timeout(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    started = time.monotonic()
    with pytest.raises(queue.Empty) as raised:
        tasks.get(True, timeout=0.5)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 3
    assert isinstance(raised.value, taskwire.QueueEmpty) and isinstance(raised.value, taskwire.TaskwireError)
    assert raised.value.queue == qname


def test_get_without_blocking(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    started = time.monotonic()
    with pytest.raises(queue.Empty):
        tasks.get(False)
    with pytest.raises(queue.Empty):
        tasks.get_nowait()
    assert time.monotonic() - started < 1
    with pytest.raises(ValueError):
        tasks.get(True, timeout=-1)


def test_a_blocked_get_does_not_hold_up_other_calls(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    received: Dict[str, object] = {}

    def worker() -> None:
        received["task"] = tasks.get(True, timeout=10)

    thread = threading.Thread(target=worker)
    thread.start()
    assert wait_until(lambda: tasks.stats()["waitingGetters"] == 1)
    for _ in range(5):
        started = time.monotonic()
        client.ping()
        assert time.monotonic() - started < 0.5
    tasks.put("wake up")
    thread.join(5)
    assert received["task"].payload == "wake up"  # type: ignore[attr-defined]


def test_a_blocked_get_wakes_when_a_task_is_put(
    manager: Manager, client: taskwire.Client, clients: list, qname: str
) -> None:
    producer = manager.connect()
    clients.append(producer)
    timer = threading.Timer(0.3, lambda: producer.queue(qname).put("image_url_0"))
    timer.start()
    started = time.monotonic()
    task = client.queue(qname).get()  # no timeout
    assert task.payload == "image_url_0" and time.monotonic() - started < 5
    timer.join()


def test_cancelling_a_blocked_get_from_another_thread_takes_nothing(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    token = taskwire.CancelToken()
    outcome: Dict[str, BaseException] = {}

    def waiter() -> None:
        try:
            tasks.get(cancel=token)
        except BaseException as error:  # recorded for the assertion below
            outcome["error"] = error

    thread = threading.Thread(target=waiter)
    thread.start()
    assert wait_until(lambda: tasks.stats()["waitingGetters"] == 1)
    token.cancel()
    thread.join(5)
    assert isinstance(outcome["error"], taskwire.RequestCancelled)
    tasks.put("after the cancel")
    assert tasks.get(timeout=1).payload == "after the cancel"  # the cancelled get swallowed nothing


def test_cancel_token_on_put_and_join(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.declare(maxsize=1)
    tasks.put("fills it")
    token = taskwire.CancelToken()
    threading.Timer(0.2, token.cancel).start()
    with pytest.raises(taskwire.RequestCancelled):
        tasks.put("waits for room", cancel=token)
    assert tasks.qsize() == 1
    join_token = taskwire.CancelToken()
    threading.Timer(0.2, join_token.cancel).start()
    with pytest.raises(taskwire.RequestCancelled):
        tasks.join(cancel=join_token)


def test_a_cancel_token_sends_nothing_for_a_call_the_manager_never_holds() -> None:
    # Only the spec's blocking methods (queue/put, queue/get, queue/join) can be withdrawn: a
    # $/cancelRequest for any other call would be one the manager has nothing to do with.
    token = taskwire.CancelToken()

    def manager(conn, reader, seen):
        fake_handshake(conn, reader, b"biu")
        stats = read_json(reader)
        token.cancel()  # while the call waits for its answer
        send_json(conn, {"jsonrpc": "2.0", "id": stats["id"], "result": {"queue": "q", "ready": 0}})
        seen["after"] = [read_json(reader)]
        while seen["after"][-1]["method"] != "session/ping":
            seen["after"].append(read_json(reader))
        send_json(conn, {"jsonrpc": "2.0", "id": seen["after"][-1]["id"], "result": {"time": "2026-11-03T09:14:07.512Z"}})
        conn.recv(1024)

    with fake_manager(manager) as (port, seen):
        with taskwire.connect("127.0.0.1", port, authkey=b"biu", reconnect=False) as client:
            assert client.call("queue/stats", {"queue": "q"}, cancel=token) == {"queue": "q", "ready": 0}
            assert client.ping() == "2026-11-03T09:14:07.512Z"
    assert "error" not in seen
    assert [message["method"] for message in seen["after"]] == ["session/ping"]


def test_many_threads_share_one_client(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    results = client.queue(qname + ".results")
    threads_count, per_thread = 8, 25
    errors: List[BaseException] = []

    def producer(index: int) -> None:
        try:
            for i in range(per_thread):
                tasks.put(f"{index}-{i}", reply_to=results.name)
        except BaseException as error:
            errors.append(error)

    def consumer() -> None:
        try:
            while True:
                try:
                    task = tasks.get(True, timeout=1)
                except queue.Empty:
                    return
                task.ack(task.payload.upper() + "!")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=producer, args=(i,)) for i in range(threads_count)]
    threads += [threading.Thread(target=consumer) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    replies = results.get_many(1000, timeout=1, auto_ack=True)
    while len(replies) < threads_count * per_thread:
        more = results.get_many(1000, timeout=1, auto_ack=True)
        if not more:
            break
        replies += more
    expected = {f"{i}-{j}".upper() + "!" for i in range(threads_count) for j in range(per_thread)}
    assert sorted(reply.payload["result"] for reply in replies) == sorted(expected)
    assert tasks.join(timeout=1)


def test_many_blocked_gets_on_one_client(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    got: List[str] = []
    lock = threading.Lock()

    def waiter() -> None:
        task = tasks.get(True, timeout=10)
        with lock:
            got.append(task.payload)
        task.ack()

    threads = [threading.Thread(target=waiter) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: tasks.stats()["waitingGetters"] == 6)
    tasks.put_many([f"t{i}" for i in range(6)])
    for thread in threads:
        thread.join(10)
    assert sorted(got) == [f"t{i}" for i in range(6)]


def test_close_fails_calls_in_flight(manager: Manager, qname: str) -> None:
    client = manager.connect()
    outcome: Dict[str, BaseException] = {}

    def waiter() -> None:
        try:
            client.queue(qname).get(True, timeout=30)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=waiter)
    thread.start()
    assert wait_until(lambda: client.stats(qname)["waitingGetters"] == 1)
    client.close()
    thread.join(5)
    assert isinstance(outcome["error"], taskwire.ConnectionClosed)
    with pytest.raises(taskwire.ConnectionClosed):
        client.ping()
    client.close()  # idempotent


class _Interrupted(Exception):
    """Raised by a signal handler, as Ctrl+C raises KeyboardInterrupt."""


def test_an_interrupted_get_is_withdrawn_and_takes_nothing(client: taskwire.Client, qname: str) -> None:
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise _Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(_Interrupted):
            client.queue(qname).get()  # no timeout: only the signal ends it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert wait_until(lambda: client.stats(qname)["waitingGetters"] == 0)
    client.queue(qname).put("not swallowed")
    assert client.queue(qname).get(timeout=1).payload == "not swallowed"
