"""Every error of the registry (spec §8.2) as the manager produces it, and its exception."""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

import taskwire
from conftest import REPO_ROOT, Manager, error_of, fake_handshake, fake_manager, read_json, send_json

REGISTRY = json.loads((REPO_ROOT / "spec" / "protocol.json").read_text())["errors"]


@pytest.mark.parametrize("entry", REGISTRY, ids=[entry["name"] for entry in REGISTRY])
def test_each_registry_code_has_its_class(entry: dict) -> None:
    error = taskwire.remote_error(entry["code"], entry["message"], {"reason": entry.get("reason")})
    assert type(error).__name__ == entry["name"], (
        f"the spec's error {entry['name']} ({entry['code']}) has no class: add it to taskwire/errors.py "
        "(with CODE, MESSAGE and REASON), to its _REMOTE_ERRORS and to __all__"
    )
    assert type(error).CODE == error.code == entry["code"]
    assert isinstance(error, taskwire.RemoteError) and isinstance(error, taskwire.TaskwireError)
    assert error.reason == entry.get("reason")
    # The class states the registry's message and reason, so a user can match on them.
    assert (type(error).MESSAGE, type(error).REASON) == (entry["message"], entry.get("reason"))
    assert entry["name"] in taskwire.__all__


def test_every_remote_error_class_is_in_the_registry() -> None:
    # The other way round: no class (or table entry) for a code the spec no longer has.
    classes = {
        value.__name__: value
        for value in vars(taskwire).values()
        if isinstance(value, type) and issubclass(value, taskwire.RemoteError) and value is not taskwire.RemoteError
    }
    assert sorted(classes) == sorted(entry["name"] for entry in REGISTRY)
    assert sorted(taskwire.errors._REMOTE_ERRORS) == sorted(entry["code"] for entry in REGISTRY)


def test_unknown_codes_are_remote_errors() -> None:
    error = taskwire.remote_error(1999, "something new", {"reason": "new_reason"})
    assert type(error) is taskwire.RemoteError
    assert (error.code, error.reason) == (1999, "new_reason")


def test_remote_errors_survive_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(taskwire.QueueFull(1002, "queue full", {"maxsize": 1})))
    assert isinstance(error, taskwire.QueueFull) and error.data == {"maxsize": 1}


@pytest.fixture(scope="module")
def limited(key_file: Path) -> Iterator[Manager]:
    """A manager with small limits and no queue creation on first use."""
    options = ["--no-auto-create", "--max-payload-bytes", "100", "--max-batch", "3", "--max-frame-bytes", "2048"]
    server = Manager(key_file, *options, "--queue", "declared").start()
    yield server
    server.stop()


# -- JSON-RPC and session errors ------------------------------------------------------------


def test_parse_error_for_a_line_that_is_not_json(manager: Manager) -> None:
    raw = manager.raw()
    raw.handshake(manager.key)
    raw.send_bytes(b'{"jsonrpc":"2.0","id":40,"method":"queue/put","params":\n')
    response = raw.receive()
    assert response is not None and response["id"] is None
    assert isinstance(error_of(response), taskwire.ParseError)
    assert raw.request(41, "session/ping", {})["result"]["time"]  # NDJSON: the connection goes on
    raw.close()


def test_parse_error_for_bytes_that_are_not_a_frame(manager: Manager) -> None:
    raw = manager.raw()
    raw.send_bytes(b"\x00\x01 hello\n")
    assert isinstance(error_of(raw.receive()), taskwire.ParseError)
    assert raw.closed_by_peer()
    raw.close()


def test_invalid_request_for_a_batch(manager: Manager) -> None:
    raw = manager.raw()
    raw.handshake(manager.key)
    raw.send_bytes(b'[{"jsonrpc":"2.0","id":42,"method":"session/ping"}]\n')
    assert isinstance(error_of(raw.receive()), taskwire.InvalidRequest)
    raw.close()


def test_invalid_request_for_a_second_hello(client: taskwire.Client) -> None:
    params = {"protocolVersions": ["2026-11"], "nonce": taskwire._new_nonce(), "client": {"name": "again"}}
    with pytest.raises(taskwire.InvalidRequest):
        client.call("session/hello", params)
    assert client.ping()


def test_method_not_found(client: taskwire.Client) -> None:
    with pytest.raises(taskwire.MethodNotFound) as raised:
        client.call("queue/delete", {"queue": "x"})
    assert raised.value.code == -32601
    assert client.ping()  # the session goes on


def test_invalid_params_names_the_field(client: taskwire.Client, qname: str) -> None:
    with pytest.raises(taskwire.InvalidParams) as raised:
        client.queue(qname).put("image_url_0", priority="high")  # type: ignore[arg-type]
    assert raised.value.data["field"] == "/tasks/0/priority"
    with pytest.raises(taskwire.InvalidParams):
        client.get_many(qname, 0)
    with pytest.raises(taskwire.InvalidParams):
        client.declare("bad name!")


def test_internal_error_is_raised_as_its_class() -> None:
    # The reference manager never answers -32603 to anything a client can send; a fake does.
    def failing(conn, reader, seen):
        hello = read_json(reader)
        send_json(conn, {"jsonrpc": "2.0", "id": hello["id"], "error": {"code": -32603, "message": "internal error"}})

    with fake_manager(failing) as (port, _):
        with pytest.raises(taskwire.InternalError):
            taskwire.connect("127.0.0.1", port, authkey=b"biu", connect_timeout=5)


def test_store_unavailable_fails_the_request_and_not_the_connection() -> None:
    # Only a manager whose shared store (Redis) is away answers 1006 (spec §7.18); a fake does.
    def store_away(conn, reader, seen):
        fake_handshake(conn, reader, b"biu", version="2026-12")
        put = read_json(reader)
        assert put["method"] == "queue/put"
        error = {
            "code": 1006,
            "message": "store unavailable: the connection to redis://10.0.4.2:6379 was lost",
            "data": {"reason": "store_unavailable", "retryAfter": 2},
        }
        send_json(conn, {"jsonrpc": "2.0", "id": put["id"], "error": error})
        ping = read_json(reader)
        send_json(conn, {"jsonrpc": "2.0", "id": ping["id"], "result": {"time": "2026-11-03T09:14:07.512Z"}})
        seen["after"] = conn.recv(1024)

    with fake_manager(store_away) as (port, seen):
        with taskwire.connect("127.0.0.1", port, authkey=b"biu", reconnect=False) as client:
            assert client.protocol_version == "2026-12"
            assert client.manager_id == "m-fake"
            with pytest.raises(taskwire.StoreUnavailable) as raised:
                client.queue("jobs").put("image_url_0")
            error = raised.value
            assert str(error) == "store unavailable: the connection to redis://10.0.4.2:6379 was lost"
            assert (error.code, error.reason, error.retry_after) == (1006, "store_unavailable", 2.0)
            # The same connection goes on: the request failed, not the session.
            assert client.ping() == "2026-11-03T09:14:07.512Z"
    # Closed only when asked, saying so (2026-12, spec §6.3): nothing else came after the ping.
    after = [json.loads(line) for line in seen["after"].splitlines()]
    assert after == [{"jsonrpc": "2.0", "method": "session/close", "params": {}}]


def test_store_unavailable_is_internal_error_for_a_2026_11_manager() -> None:
    def store_away(conn, reader, seen):
        fake_handshake(conn, reader, b"biu", version="2026-11")
        put = read_json(reader)
        error = {"code": -32603, "message": "internal error: store unavailable: the connection to the store was lost"}
        send_json(conn, {"jsonrpc": "2.0", "id": put["id"], "error": error})
        seen["after"] = conn.recv(1024)

    with fake_manager(store_away) as (port, _):
        with taskwire.connect("127.0.0.1", port, authkey=b"biu", reconnect=False) as client:
            assert client.protocol_version == "2026-11"
            assert client.manager_id is None
            with pytest.raises(taskwire.InternalError, match="^internal error: store unavailable: the connection to the store was lost$"):
                client.queue("jobs").put("image_url_0")


def test_authentication_failed(manager: Manager) -> None:
    raw = manager.raw()
    hello = raw.hello()["result"]
    wrong = taskwire.client_proof(b"bio", hello["nonce"], raw.client_nonce, "2026-11")
    assert isinstance(error_of(raw.request(2, "session/authenticate", {"proof": wrong})), taskwire.AuthenticationFailed)
    assert raw.closed_by_peer()
    raw.close()
    with pytest.raises(taskwire.AuthenticationFailed):
        manager.connect(authkey=b"bio")


def test_not_authenticated(manager: Manager) -> None:
    raw = manager.raw()
    raw.hello()
    assert isinstance(error_of(raw.request(2, "queue/get", {"queue": "tasks"})), taskwire.NotAuthenticated)
    assert raw.closed_by_peer()
    raw.close()
    raw = manager.raw()
    assert isinstance(error_of(raw.request(1, "session/authenticate", {"proof": "0" * 64})), taskwire.NotAuthenticated)
    raw.close()


def test_unsupported_protocol_version(manager: Manager) -> None:
    raw = manager.raw()
    error = error_of(raw.hello(["1999-01"]))
    assert isinstance(error, taskwire.UnsupportedProtocolVersion)
    assert error.data["supported"] == ["2026-11", "2026-12"]
    assert raw.closed_by_peer()
    raw.close()


def test_frame_too_large_from_the_manager(limited: Manager) -> None:
    raw = limited.raw()
    raw.handshake(limited.key)
    params = {"queue": "declared", "tasks": [{"payload": "x" * 3000}]}
    raw.send({"jsonrpc": "2.0", "id": 3, "method": "queue/put", "params": params})
    error = error_of(raw.receive())
    assert isinstance(error, taskwire.FrameTooLarge)
    assert error.data["limit"] == 2048
    assert raw.closed_by_peer()
    raw.close()


def test_frame_too_large_is_caught_before_sending(limited: Manager, clients: list) -> None:
    client = limited.connect()
    clients.append(client)
    session = client.session_id
    with pytest.raises(taskwire.FrameTooLarge) as raised:
        client.queue("declared").put("x" * 3000)
    assert raised.value.data["limit"] == 2048
    assert client.ping() and client.session_id == session  # the connection and its leases survive


def test_put_many_splits_to_fit_the_frame_and_batch_limits(limited: Manager, clients: list) -> None:
    client = limited.connect()
    clients.append(client)
    tasks = client.queue("declared")
    tasks.purge()
    payloads = [f"{i:03d}-" + "y" * 80 for i in range(40)]  # ~3.7 KiB in all: several frames
    ids = tasks.put_many(payloads)
    assert len(ids) == len(set(ids)) == 40
    got = []
    while len(got) < 40:
        got += tasks.get_many(3, timeout=1, auto_ack=True)
    assert [task.payload for task in got] == payloads


def test_shutting_down(start_manager, clients: list) -> None:
    server = start_manager()
    waiter = server.connect(reconnect=False)
    other = server.connect(reconnect=False)
    clients.extend([waiter, other])
    outcome: dict = {}

    def blocked_get() -> None:
        try:
            waiter.queue("tasks").get(True, timeout=30)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=blocked_get)
    thread.start()
    assert _wait_for_getters(other, "tasks", 1)
    other.shutdown_manager()
    thread.join(10)
    assert isinstance(outcome.get("error"), taskwire.ShuttingDown)
    with pytest.raises((taskwire.ShuttingDown, taskwire.ConnectionClosed)):
        other.ping()
    assert server.process.wait(10) == 0


def test_request_cancelled(client: taskwire.Client, qname: str) -> None:
    token = taskwire.CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(taskwire.RequestCancelled):
        client.queue(qname).get(cancel=token)  # no timeout: only the cancellation ends it
    assert time.monotonic() - started < 5
    timer.join()
    assert client.stats(qname)["waitingGetters"] == 0
    with pytest.raises(taskwire.RequestCancelled):
        client.queue(qname).get(cancel=token)  # a cancelled token cancels at once


# -- application errors -----------------------------------------------------------------------


def test_queue_not_found(limited: Manager, clients: list) -> None:
    client = limited.connect()
    clients.append(client)
    assert client.capabilities["autoCreateQueues"] is False
    with pytest.raises(taskwire.QueueNotFound) as raised:
        client.queue("thumbnail").get(True, timeout=5)
    assert (raised.value.reason, raised.value.data["queue"]) == ("queue_not_found", "thumbnail")
    with pytest.raises(taskwire.QueueNotFound):
        client.queue("declared").put("image_url_0", reply_to="nowhere")
    assert client.declare("thumbnail", maxsize=10) is True  # declare creates it anyway
    assert client.stats("thumbnail")["maxsize"] == 10


def test_queue_full(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.declare(maxsize=1)
    tasks.put("image_url_0")
    with pytest.raises(taskwire.QueueFull) as raised:
        tasks.put("image_url_1", block=False)
    assert isinstance(raised.value, queue.Full)
    assert (raised.value.reason, raised.value.data["maxsize"], raised.value.data["queue"]) == ("queue_full", 1, qname)
    started = time.monotonic()
    with pytest.raises(queue.Full):
        tasks.put("image_url_1", timeout=0.3)
    assert 0.25 < time.monotonic() - started < 3
    with pytest.raises(taskwire.QueueFull):
        tasks.put_many(["a", "b"], timeout=10)  # can never fit: refused at once
    assert tasks.full()


def test_lease_unknown_on_a_second_ack(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put("image_url_0")
    task = tasks.get(timeout=5)
    task.ack()
    with pytest.raises(taskwire.LeaseUnknown) as raised:
        client.ack(task.id)
    assert raised.value.data["ids"] == [task.id]
    with pytest.raises(taskwire.LeaseUnknown):
        client.touch(task.id)
    with pytest.raises(taskwire.LeaseUnknown):
        client.nack(task.id)


def test_payload_too_large(limited: Manager, clients: list) -> None:
    client = limited.connect()
    clients.append(client)
    with pytest.raises(taskwire.PayloadTooLarge) as raised:
        client.queue("declared").put("z" * 150)
    assert (raised.value.reason, raised.value.data["limit"]) == ("payload_too_large", 100)


def test_limit_exceeded(limited: Manager, clients: list) -> None:
    client = limited.connect()
    clients.append(client)
    assert client.limits["maxBatch"] == 3
    tasks = client.queue("declared")
    with pytest.raises(taskwire.LimitExceeded) as raised:
        tasks.get_many(4, timeout=0)
    error = raised.value
    assert (error.reason, error.data["limit"], error.data["max"]) == ("limit_exceeded", "maxBatch", 3)
    with pytest.raises(taskwire.LimitExceeded):
        tasks.peek(4)
    with pytest.raises(taskwire.LimitExceeded):
        client.ack_many(["a", "b", "c", "d"])


def test_subscription_limit(client: taskwire.Client) -> None:
    limit = client.limits["maxSubscriptions"]
    subscriptions = [client.subscribe(kinds=[]) for _ in range(limit)]
    with pytest.raises(taskwire.LimitExceeded) as raised:
        client.subscribe(kinds=[])
    assert raised.value.data["limit"] == "maxSubscriptions"
    for subscription in subscriptions:
        subscription.unsubscribe()


def _wait_for_getters(client: taskwire.Client, name: str, count: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if client.stats(name)["waitingGetters"] >= count:
            return True
        time.sleep(0.02)
    return False
