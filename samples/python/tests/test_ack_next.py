"""Acking a task and taking the next one in one exchange (spec §5.9.1), and the worker loop
built on it (``Queue.work``), against a real manager.

A relay between the client and the manager records every request the client sends, so the
tests see the exchanges themselves: one ``task/ack`` with ``next`` per task when the manager
announces ``capabilities.ackNext``, an ack then a get when it does not. For the second case
the relay removes ``ackNext`` from the manager's ``session/authenticate`` answer (the server
proof does not cover the capabilities), which is what a manager from before §5.9.1 sends.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import taskwire
from conftest import Manager, wait_until


class Relay:
    """Forwards connections to a manager line by line and records the client's requests."""

    def __init__(self, manager_port: int, hide_ack_next: bool) -> None:
        self.manager_port = manager_port
        self.hide_ack_next = hide_ack_next
        self.requests: List[Tuple[str, Dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        self._threads: List[threading.Thread] = []
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(4)
        self.port = self._server.getsockname()[1]
        self._spawn(self._accept)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.manager_port), timeout=5)
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, self._record)
            self._spawn(self._pump, upstream, client, self._rewrite)

    def _pump(self, source: socket.socket, target: socket.socket, on_line: Any) -> None:
        try:
            with source.makefile("rb") as lines:
                for line in lines:
                    target.sendall(on_line(line))
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _record(self, line: bytes) -> bytes:
        message = json.loads(line)
        if "method" in message and "id" in message:
            with self._lock:
                self.requests.append((message["method"], message.get("params") or {}))
        return line

    def _rewrite(self, line: bytes) -> bytes:
        if not (self.hide_ack_next and b'"serverProof"' in line):
            return line
        message = json.loads(line)
        message["result"]["capabilities"].pop("ackNext", None)
        return json.dumps(message, separators=(",", ":")).encode() + b"\n"

    def methods(self) -> List[str]:
        """The methods of the requests sent after the handshake, in order."""
        with self._lock:
            return [method for method, _ in self.requests if not method.startswith("session/")]

    def close(self) -> None:
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self._server.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(5)


@contextmanager
def relayed_client(manager: Manager, hide_ack_next: bool, **options: Any) -> Iterator[Tuple[taskwire.Client, Relay]]:
    relay = Relay(manager.port, hide_ack_next)
    options.setdefault("reconnect", False)
    client = taskwire.connect("127.0.0.1", relay.port, authkey=manager.key, connect_timeout=5, **options)
    try:
        yield client, relay
    finally:
        client.close()
        relay.close()


@pytest.fixture(params=[True, False], ids=["ackNext", "fallback"])
def announced(request: pytest.FixtureRequest) -> bool:
    """Whether the manager the client sees announces ``capabilities.ackNext``."""
    return bool(request.param)


@pytest.fixture
def relayed(manager: Manager, announced: bool) -> Iterator[Tuple[taskwire.Client, Relay]]:
    with relayed_client(manager, hide_ack_next=not announced) as pair:
        yield pair


def test_the_reference_manager_announces_ack_next(client: taskwire.Client) -> None:
    assert client.capabilities["ackNext"] is True


def test_the_relay_hides_ack_next(relayed: Tuple[taskwire.Client, Relay], announced: bool) -> None:
    client, _ = relayed
    assert client.capabilities.get("ackNext") is (True if announced else None)


def test_ack_and_get_next_acks_routes_the_result_and_leases_the_next(
    relayed: Tuple[taskwire.Client, Relay], announced: bool, qname: str
) -> None:
    client, relay = relayed
    tasks, results = client.queue(qname), client.queue(qname + ".r")
    tasks.put_many(["a", "b"], reply_to=results.name)
    first = tasks.get(timeout=2)
    mark = len(relay.requests)
    following = first.ack_and_get_next(f"{first.payload} done", timeout=2)
    sent = relay.requests[mark:]
    assert first.settled
    assert [task.payload for task in following] == ["b"]
    assert following[0].lease_until is not None and following[0].queue == qname
    assert results.get(timeout=2, auto_ack=True).payload == {"taskId": first.id, "result": "a done"}
    stats = tasks.stats()
    assert (stats["ready"], stats["leased"], stats["totals"]["acked"]) == (0, 1, 1)
    ack = {"acks": [{"id": first.id, "result": "a done"}]}
    get = {"queue": qname, "max": 1, "timeout": 2}
    if announced:
        assert sent == [("task/ack", {**ack, "next": get})]
    else:
        assert sent == [("task/ack", ack), ("queue/get", get)]


def test_ack_and_get_next_returns_nothing_after_the_timeout(relayed: Tuple[taskwire.Client, Relay], qname: str) -> None:
    client, _ = relayed
    tasks = client.queue(qname)
    tasks.put("only")
    assert tasks.ack_and_get_next(tasks.get(timeout=2), timeout=0.2) == []
    assert tasks.stats()["totals"]["acked"] == 1


def test_ack_and_get_next_takes_from_another_queue_several_tasks(
    relayed: Tuple[taskwire.Client, Relay], qname: str
) -> None:
    client, _ = relayed
    client.queue(qname).put("first")
    client.queue(qname + ".b").put_many([1, 2, 3])
    task = client.queue(qname).get(timeout=2)
    taken = task.ack_and_get_next(queue=qname + ".b", max_tasks=2, timeout=2, ttr=30)
    assert [(t.queue, t.payload) for t in taken] == [(qname + ".b", 1), (qname + ".b", 2)]
    assert client.stats(qname)["totals"]["acked"] == 1


def test_ack_and_get_next_of_a_task_not_held_raises_lease_unknown_and_takes_nothing(
    relayed: Tuple[taskwire.Client, Relay], qname: str
) -> None:
    client, _ = relayed
    tasks = client.queue(qname)
    tasks.put_many(["a", "b"])
    task = tasks.get(timeout=2)
    task.ack()
    with pytest.raises(taskwire.LeaseUnknown) as raised:
        client.ack_and_get_next(task.id, queue=qname, timeout=0)
    assert str(raised.value) == f"unknown or expired lease: this session does not hold task {task.id}"
    assert raised.value.data["ids"] == [task.id]
    stats = tasks.stats()
    assert (stats["ready"], stats["leased"]) == (1, 0)


def test_a_cancel_ends_the_wait_and_the_ack_stands(relayed: Tuple[taskwire.Client, Relay], qname: str) -> None:
    client, _ = relayed
    tasks = client.queue(qname)
    tasks.put("only", reply_to=qname + ".r")
    task = tasks.get(timeout=2)
    token = taskwire.CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    try:
        assert task.ack_and_get_next("done", timeout=30, cancel=token) == []
    finally:
        timer.cancel()
    assert task.settled
    assert tasks.stats()["totals"]["acked"] == 1
    assert client.queue(qname + ".r").get(timeout=2, auto_ack=True).payload["result"] == "done"


def test_a_token_cancelled_before_the_call_acks_nothing(relayed: Tuple[taskwire.Client, Relay], qname: str) -> None:
    client, _ = relayed
    tasks = client.queue(qname)
    tasks.put("only")
    task = tasks.get(timeout=2)
    token = taskwire.CancelToken()
    token.cancel()
    with pytest.raises(taskwire.RequestCancelled, match="^request cancelled: the cancel token was already cancelled$"):
        task.ack_and_get_next(cancel=token)
    assert not task.settled
    assert tasks.stats()["leased"] == 1


def test_a_task_id_needs_a_queue(client: taskwire.Client) -> None:
    with pytest.raises(TypeError, match=r"^ack_and_get_next\(\) needs queue= when given a task id rather than a Task$"):
        client.ack_and_get_next("t-1")


def test_queue_ack_and_get_next_remembers_the_tasks_for_task_done(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(["a", "b"])
    taken = tasks.ack_and_get_next(tasks.get(timeout=2), timeout=2)
    tasks.task_done()  # acks "b", the task ack_and_get_next took
    assert taken[0].settled
    assert tasks.stats()["totals"]["acked"] == 2
    with pytest.raises(ValueError, match="^task_done\\(\\) called too many times$"):
        tasks.task_done()


# -- the worker loop -------------------------------------------------------------------------


def test_work_costs_one_exchange_per_task(relayed: Tuple[taskwire.Client, Relay], announced: bool, qname: str) -> None:
    client, relay = relayed
    tasks, results = client.queue(qname), client.queue(qname + ".r")
    count = 20
    tasks.put_many([f"image_url_{i}" for i in range(count)], reply_to=results.name)
    before = len(relay.methods())
    handled = tasks.work(lambda task: f"{task.payload} ---> success", idle_timeout=0.3)
    assert handled == count
    sent = relay.methods()[before:]
    if announced:
        # The first get, then one ack per task, each taking the next (the last one finds none).
        assert sent == ["queue/get"] + ["task/ack"] * count
        assert all("next" in params for method, params in relay.requests[-count:])
    else:
        assert sent == ["queue/get"] + ["task/ack", "queue/get"] * count
    replies = results.get_many(count + 5, timeout=2, auto_ack=True)
    expected = sorted(f"image_url_{i} ---> success" for i in range(count))
    assert sorted(reply.payload["result"] for reply in replies) == expected
    stats = tasks.stats()
    assert (stats["ready"], stats["leased"], stats["totals"]["acked"]) == (0, 0, count)


def test_work_nacks_a_failed_task_and_goes_on(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.declare(max_attempts=3)
    tasks.put_many(["ok", "flaky"])
    failures: List[Tuple[str, int]] = []
    done: List[Tuple[str, int]] = []
    token = taskwire.CancelToken()

    def handle(task: taskwire.Task) -> None:
        if task.payload == "flaky" and task.attempt == 1:
            raise RuntimeError("HTTP 503")
        done.append((task.payload, task.attempt))
        if task.payload == "flaky":
            token.cancel()  # the last task: it is still acked, and the loop ends

    def on_error(error: BaseException, task: taskwire.Task) -> None:
        failures.append((str(error), task.attempt))

    # The retry waits the manager's back-off (about 1 s after a first failure).
    assert tasks.work(handle, idle_timeout=30, cancel=token, on_error=on_error) == 3
    assert failures == [("HTTP 503", 1)]
    assert done == [("ok", 1), ("flaky", 2)]
    totals = tasks.stats()["totals"]
    assert (totals["acked"], totals["nacked"]) == (2, 1)


def test_work_sends_no_result_for_none_and_leaves_a_task_the_handler_settled(
    client: taskwire.Client, qname: str
) -> None:
    tasks, results = client.queue(qname), client.queue(qname + ".r")
    tasks.declare(dead_letter=None)
    tasks.put_many(["quiet", "nacked"], reply_to=results.name)

    def handle(task: taskwire.Task) -> None:
        if task.payload == "nacked":
            task.nack(error="bad input", retry=False)

    assert tasks.work(handle, idle_timeout=0.3) == 2
    with pytest.raises(queue.Empty):
        results.get(timeout=0.2)
    totals = tasks.stats()["totals"]
    assert (totals["acked"], totals["nacked"], totals["deadLettered"]) == (1, 1, 1)


def test_work_ends_when_cancelled(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    token = taskwire.CancelToken()
    handled: List[int] = []
    worker = threading.Thread(target=lambda: handled.append(tasks.work(lambda task: task.payload, cancel=token)))
    worker.start()
    tasks.put("one")
    assert wait_until(lambda: tasks.stats()["totals"]["acked"] == 1)
    token.cancel()
    worker.join(10)
    assert not worker.is_alive()
    assert handled == [1]
    assert tasks.stats()["waitingGetters"] == 0


def test_work_raises_when_the_connection_drops_and_reconnect_is_off(start_manager: Any, qname: str) -> None:
    server = start_manager()
    client = server.connect(reconnect=False)
    try:
        tasks = client.queue(qname)
        tasks.put("one")
        errors: List[BaseException] = []

        def run() -> None:
            try:
                tasks.work(lambda task: None)
            except BaseException as error:  # noqa: B902 - recorded for the test
                errors.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        assert wait_until(lambda: tasks.stats()["totals"]["acked"] == 1)
        server.stop()
        worker.join(10)
        assert not worker.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], (taskwire.ConnectionClosed, taskwire.ShuttingDown))
    finally:
        client.close()


def test_work_goes_on_after_the_manager_restarts(start_manager: Any, clients: list, qname: str) -> None:
    server = start_manager()
    client = server.connect(reconnect=taskwire.Reconnect(initial_delay=0.05, max_delay=0.3))
    clients.append(client)
    tasks = client.queue(qname)
    token = taskwire.CancelToken()
    seen: List[str] = []

    def handle(task: taskwire.Task) -> str:
        seen.append(task.payload)
        return task.payload

    outcome: List[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(tasks.work(handle, cancel=token)))
    worker.start()
    try:
        tasks.put("before")
        assert wait_until(lambda: seen == ["before"])
        port = server.port
        assert server.stop() == 0
        start_manager(port=port)
        assert client.wait_until_connected(timeout=15)
        tasks.put("after")  # on the new manager, taken by the same loop once it reconnected
        assert wait_until(lambda: seen == ["before", "after"], timeout=15)
        assert wait_until(lambda: tasks.stats()["totals"]["acked"] == 1)
    finally:
        token.cancel()
        worker.join(15)
    assert not worker.is_alive()
    assert outcome == [2]


def test_work_skips_a_task_whose_lease_expired(
    manager: Manager, client: taskwire.Client, clients: list, qname: str
) -> None:
    tasks = client.queue(qname)
    tasks.put("slow")
    attempts: List[int] = []

    def handle(task: taskwire.Task) -> None:
        attempts.append(task.attempt)
        if task.attempt == 1:
            # Outlive the lease: another worker takes the task meanwhile.
            other = manager.connect(name="other-worker")
            clients.append(other)
            again = other.queue(qname).get(timeout=5)
            assert again.attempt == 2
            again.ack()

    # The first ack finds its lease gone (LeaseUnknown): the loop skips the task and goes on.
    assert tasks.work(handle, idle_timeout=0.3, ttr=0.2) == 1
    assert attempts == [1]
    assert tasks.stats()["totals"]["acked"] == 1


def test_ctrl_c_in_the_handler_releases_the_task_as_client_stopped(start_manager: Any, qname: str) -> None:
    server = start_manager()
    monitor = server.connect()
    worker = server.connect()
    try:
        events: List[Any] = []
        monitor.subscribe(queues=[qname], kinds=["released", "expired"], callback=events.append)
        first, second = monitor.queue(qname).put_many(["first", "second"])

        def interrupted(task: Any) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            worker.queue(qname).work(interrupted)
        assert wait_until(lambda: len(events) == 1)
        assert (events[0].kind, events[0].task_id, events[0].attempt, events[0].error) == (
            "released",
            first,
            1,
            "client stopped",
        )
        # Back at the head of the queue, before the task that waited, with its next attempt.
        again = monitor.queue(qname).get(timeout=5)
        assert (again.id, again.attempt) == (first, 2)
        assert monitor.queue(qname).stats()["totals"]["released"] == 1
    finally:
        worker.close()
        monitor.close()
