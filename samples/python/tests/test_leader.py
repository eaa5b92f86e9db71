"""The leader/follower reading of one connection (see _Channel): whichever thread waits for a
response may read the socket for everyone, the background reader covers the gaps. Real
manager, real sockets; the only timing assertions are generous timeouts."""

from __future__ import annotations

import queue
import signal
import threading
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import taskwire
from conftest import Manager, wait_until


def _run_threads(targets: List, timeout: float = 60) -> List[BaseException]:
    errors: List[BaseException] = []

    def guarded(target) -> None:  # type: ignore[no-untyped-def]
        try:
            target()
        except BaseException as error:  # recorded for the assertion
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread is stuck"
    return errors


def test_many_threads_make_requests_while_a_subscription_receives_events(
    manager: Manager, client: taskwire.Client, clients: list, qname: str
) -> None:
    threads_count, per_thread = 8, 40
    received: List[taskwire.Event] = []
    lock = threading.Lock()

    def on_event(event: taskwire.Event) -> None:
        with lock:
            received.append(event)

    by_callback = client.subscribe(queues=[qname], kinds=["put"], callback=on_event)
    by_iteration = client.subscribe(queues=[qname], kinds=["put"])
    other = manager.connect(name="other-producer")
    clients.append(other)
    tasks = client.queue(qname)

    def requests(index: int):  # type: ignore[no-untyped-def]
        def run() -> None:
            for i in range(per_thread):
                if i % 3 == 0:
                    assert client.ping().endswith("Z")
                elif i % 3 == 1:
                    tasks.put(f"{index}-{i}")
                else:
                    other.queue(qname).put(f"other-{index}-{i}")  # events with no request of ours
        return run

    errors = _run_threads([requests(i) for i in range(threads_count)])
    assert not errors
    expected = sum(1 for i in range(per_thread) if i % 3 != 0) * threads_count
    assert wait_until(lambda: len(received) == expected, timeout=20), (len(received), expected)
    seen = [by_iteration.get(timeout=10) for _ in range(expected)]
    assert sorted(e.task_id for e in seen) == sorted(e.task_id for e in received)
    with pytest.raises(queue.Empty):
        by_iteration.get(timeout=0.2)
    assert tasks.qsize() == expected


def test_events_arrive_while_no_request_is_in_flight(
    manager: Manager, client: taskwire.Client, clients: list, qname: str
) -> None:
    events = client.subscribe(queues=[qname], kinds=["put"], include_payload=True)
    other = manager.connect(name="other")
    clients.append(other)
    for i in range(20):
        other.queue(qname).put(f"p{i}")
        event = events.get(timeout=10)  # only the background reader can read it
        assert event.payload == f"p{i}"


def test_a_blocked_get_leads_while_another_thread_puts(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    got: Dict[str, taskwire.Task] = {}
    getter = threading.Thread(target=lambda: got.setdefault("task", tasks.get(True, timeout=30)))
    getter.start()
    assert wait_until(lambda: tasks.stats()["waitingGetters"] == 1)
    # The getter reads the socket: the responses below are dispatched to this thread by it,
    # or by this thread once it leads.
    for i in range(50):
        assert client.ping()
    tasks.put("for the getter")
    getter.join(10)
    assert got["task"].payload == "for the getter"
    got["task"].ack()


def test_blocked_gets_on_many_threads_and_puts_on_others(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    count = 60
    taken: List[str] = []
    lock = threading.Lock()

    def consumer() -> None:
        while True:
            try:
                task = tasks.get(True, timeout=2)
            except queue.Empty:
                return
            with lock:
                taken.append(task.payload)
            task.ack()

    def producer(start: int):  # type: ignore[no-untyped-def]
        return lambda: [tasks.put(f"t{i}") for i in range(start, count, 3)]

    errors = _run_threads([consumer] * 4 + [producer(0), producer(1), producer(2)])
    assert not errors
    assert sorted(taken) == sorted(f"t{i}" for i in range(count))


def test_a_drop_while_a_thread_leads_fails_every_waiter_and_reconnects(start_manager, clients: list) -> None:
    server = start_manager()
    client = server.connect(reconnect=taskwire.Reconnect(initial_delay=0.05, max_delay=0.3))
    clients.append(client)
    outcomes: List[BaseException] = []
    lock = threading.Lock()

    def blocked_get(name: str):  # type: ignore[no-untyped-def]
        def run() -> None:
            try:
                client.queue(name).get(True, timeout=60)
            except BaseException as error:
                with lock:
                    outcomes.append(error)
        return run

    threads = [threading.Thread(target=blocked_get(f"q{i}")) for i in range(4)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: sum(q["waitingGetters"] for q in client.queues()) == 4)
    port = server.port
    assert server.stop() == 0
    for thread in threads:
        thread.join(15)
        assert not thread.is_alive()
    assert len(outcomes) == 4
    assert all(isinstance(error, (taskwire.ConnectionClosed, taskwire.ShuttingDown)) for error in outcomes)
    start_manager(port=port)
    assert client.ping().endswith("Z")  # waits for the reconnect
    client.queue("after").put("x")
    assert client.queue("after").get(timeout=5).payload == "x"


def test_an_idle_client_notices_a_drop_and_reconnects(start_manager, clients: list) -> None:
    server = start_manager()
    client = server.connect(reconnect=taskwire.Reconnect(initial_delay=0.05, max_delay=0.3))
    clients.append(client)
    events = client.subscribe(kinds=["put"], include_payload=True)
    first = client.session_id
    port = server.port
    assert server.stop() == 0
    assert wait_until(lambda: not client.connected, timeout=10)  # nothing in flight: the reader saw it
    start_manager(port=port)
    assert wait_until(lambda: client.connected and client.session_id != first, timeout=15)
    assert wait_until(lambda: events.id is not None, timeout=5)
    other = taskwire.connect("127.0.0.1", port, authkey=server.key, reconnect=False)
    clients.append(other)
    other.queue("tasks").put("after")
    assert events.get(timeout=10).payload == "after"


def test_close_from_another_thread_while_a_thread_leads(manager: Manager, qname: str) -> None:
    client = manager.connect()
    outcomes: List[BaseException] = []

    def blocked() -> None:
        try:
            client.queue(qname).get(True, timeout=60)
        except BaseException as error:
            outcomes.append(error)

    threads = [threading.Thread(target=blocked) for _ in range(3)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: client.stats(qname)["waitingGetters"] == 3)
    client.close()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert len(outcomes) == 3 and all(isinstance(e, taskwire.ConnectionClosed) for e in outcomes)


class _Interrupted(Exception):
    """Raised by a signal handler, as Ctrl+C raises KeyboardInterrupt."""


def test_an_interrupted_leader_hands_over_to_the_other_threads(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    stop = threading.Event()
    counts: List[int] = []

    def pinger() -> None:
        n = 0
        while not stop.is_set():
            client.ping()
            n += 1
        counts.append(n)

    def blocked_get() -> None:
        client.queue(qname + ".other").get(True, timeout=60)  # often the leader

    pingers = [threading.Thread(target=pinger) for _ in range(3)]
    getter = threading.Thread(target=blocked_get, daemon=True)
    getter.start()
    for thread in pingers:
        thread.start()

    def interrupt(signum: int, frame: object) -> None:
        raise _Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        for _ in range(5):
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            with pytest.raises(_Interrupted):
                tasks.get()  # the main thread; only the signal ends it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        stop.set()
    for thread in pingers:
        thread.join(20)
        assert not thread.is_alive(), "a follower was left without a leader"
    assert len(counts) == 3
    assert wait_until(lambda: tasks.stats()["waitingGetters"] == 0)
    tasks.put("not swallowed")
    assert tasks.get(timeout=5).payload == "not swallowed"
    client.queue(qname + ".other").put("release the getter")
    getter.join(10)


def test_large_responses_and_events_interleave(client: taskwire.Client, clients: list, manager: Manager, qname: str) -> None:
    big = "x" * 200_000
    events = client.subscribe(queues=[qname], kinds=["put"], include_payload=True)
    tasks = client.queue(qname)
    tasks.put_many([big + str(i) for i in range(10)])
    got = tasks.get_many(10, timeout=5)
    assert sorted(t.payload for t in got) == sorted(big + str(i) for i in range(10))
    assert client.ack_many(got) == 10
    payloads = [events.get(timeout=10).payload for _ in range(10)]
    assert sorted(payloads) == sorted(big + str(i) for i in range(10))
