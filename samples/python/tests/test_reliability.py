"""Leases come back when a client goes; clients come back when the manager does."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Dict, List

import pytest

import taskwire
from conftest import Manager, wait_until, write_key_file


def test_a_lease_is_redelivered_after_its_client_closes(manager: Manager, client: taskwire.Client, qname: str) -> None:
    client.queue(qname).put("image_url_0")
    quitter = manager.connect(name="quitter")
    taken = quitter.queue(qname).get(timeout=1)
    assert taken.attempt == 1
    quitter.close()
    again = client.queue(qname).get(True, timeout=5)
    assert (again.id, again.payload, again.attempt) == (taken.id, "image_url_0", 2)
    again.ack()


def test_a_lease_is_redelivered_after_it_expires(
    manager: Manager, client: taskwire.Client, clients: list, qname: str
) -> None:
    slow = manager.connect(name="slow-worker")
    clients.append(slow)
    client.queue(qname).put("slow")
    first = slow.queue(qname).get(timeout=1, ttr=0.3)
    second = client.queue(qname).get(True, timeout=5)
    assert (second.id, second.attempt) == (first.id, 2)
    with pytest.raises(taskwire.LeaseUnknown):
        first.ack()  # the late ack of the first holder
    second.ack()


def _restart(server: Manager, start_manager, key: Path = None) -> Manager:  # type: ignore[assignment]
    port = server.port
    assert server.stop() == 0
    return start_manager(port=port, key=key)


def test_reconnect_after_the_manager_restarts(start_manager, clients: list) -> None:
    server = start_manager()
    client = server.connect(reconnect=taskwire.Reconnect(initial_delay=0.05, max_delay=0.5))
    clients.append(client)
    events = client.subscribe(kinds=["put"], include_payload=True)
    first_session = client.session_id
    outcome: Dict[str, BaseException] = {}

    def blocked_get() -> None:
        try:
            client.queue("tasks").get(True, timeout=30)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=blocked_get)
    thread.start()
    assert wait_until(lambda: client.stats("tasks")["waitingGetters"] == 1)

    restarted = _restart(server, start_manager)
    thread.join(10)
    # The manager answered the blocked get while shutting down, or the connection closed first.
    assert isinstance(outcome["error"], (taskwire.ShuttingDown, taskwire.ConnectionClosed))

    assert client.ping()  # the next call works: it waits for the reconnect
    assert client.session_id != first_session
    assert restarted.port == server.port

    assert wait_until(lambda: events.id is not None and events.active)
    client.queue("tasks").put("after the restart")
    event = events.get(timeout=5)  # the subscription was re-established
    assert (event.kind, event.payload) == ("put", "after the restart")


def test_calls_wait_for_the_reconnect(start_manager, clients: list) -> None:
    server = start_manager()
    client = server.connect(reconnect=taskwire.Reconnect(initial_delay=0.05, max_delay=0.3))
    clients.append(client)
    port = server.port
    assert server.stop() == 0
    assert wait_until(lambda: not client.connected)
    assert client.wait_until_connected(timeout=0.2) is False
    answers: List[str] = []
    caller = threading.Thread(target=lambda: answers.append(client.ping()))
    caller.start()  # made while the manager is down
    start_manager(port=port)
    caller.join(15)
    assert answers and answers[0].endswith("Z")
    assert client.wait_until_connected(timeout=1) is True


def test_without_reconnect_calls_fail_after_a_drop(start_manager, clients: list) -> None:
    server = start_manager()
    client = server.connect(reconnect=False)
    clients.append(client)
    _restart(server, start_manager)
    assert wait_until(lambda: not client.connected)
    with pytest.raises(taskwire.ConnectionClosed):
        client.ping()


def test_a_changed_key_ends_reconnecting(start_manager, clients: list, tmp_path: Path) -> None:
    server = start_manager()
    client = server.connect(reconnect=taskwire.Reconnect(initial_delay=0.05, max_delay=0.3))
    clients.append(client)
    subscription = client.subscribe()
    other_key = write_key_file(tmp_path / "other-key", b"another key")
    _restart(server, start_manager, key=other_key)
    with pytest.raises(taskwire.AuthenticationFailed):
        client.wait_until_connected(timeout=15)
    with pytest.raises(taskwire.AuthenticationFailed):
        client.ping()
    assert list(subscription) == []  # its iteration ended


def test_reconnect_gives_up_after_max_attempts(start_manager, clients: list) -> None:
    server = start_manager()
    client = server.connect(reconnect=taskwire.Reconnect(initial_delay=0.01, max_delay=0.05, max_attempts=3))
    clients.append(client)
    assert server.stop() == 0
    with pytest.raises(taskwire.ConnectionClosed, match="gave up reconnecting"):
        client.wait_until_connected(timeout=15)
