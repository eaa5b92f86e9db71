"""Several manager addresses: the client connects to the first that completes the handshake
and fails over to the next when its manager goes away.

Two managers here do not share queues (that takes the Redis store), so each test puts its
tasks on the manager the client is connected to.
"""

from __future__ import annotations

import secrets
import socket
import threading
from pathlib import Path
from typing import Callable, List

import pytest

import taskwire
from conftest import Manager, wait_until, write_key_file

#: A back-off this long would fail the tests: moving to the next manager must not wait for it.
NO_BACKOFF_NEEDED = taskwire.Reconnect(initial_delay=60, max_delay=60)
FAST = taskwire.Reconnect(initial_delay=0.02, max_delay=0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def at(port: int) -> str:
    return f"127.0.0.1:{port}"


def refused(port: int) -> str:
    return f"cannot connect to the manager at 127.0.0.1:{port}: connection refused (is `taskwire serve` running there?)"


def kill(manager: Manager) -> None:
    """SIGKILL: the manager dies without closing its connections gracefully."""
    assert manager.process is not None
    manager.process.kill()
    manager.process.wait(10)


@pytest.fixture
def two_managers(start_manager: Callable[..., Manager]) -> List[Manager]:
    return [start_manager(), start_manager()]


def test_with_the_first_address_down_connects_to_the_second(manager: Manager, clients: list, qname: str) -> None:
    down = free_port()
    client = taskwire.connect([at(down), at(manager.port)], authkey=manager.key, reconnect=False)
    clients.append(client)
    assert client.addresses == [("127.0.0.1", down), ("127.0.0.1", manager.port)]
    assert client.port == manager.port
    client.queue(qname).put("reached")
    assert client.queue(qname).qsize() == 1


def test_a_comma_separated_string_and_entries_without_a_port(manager: Manager, clients: list) -> None:
    down = free_port()
    client = taskwire.connect(f"127.0.0.1:{down}, 127.0.0.1", manager.port, authkey=manager.key, reconnect=False)
    clients.append(client)
    assert client.port == manager.port
    client.ping()


def test_taskwire_host_holds_a_list_and_entries_without_a_port_take_taskwire_port(
    manager: Manager, clients: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKWIRE_HOST", f"127.0.0.1:{free_port()},127.0.0.1")
    monkeypatch.setenv("TASKWIRE_PORT", str(manager.port))
    client = taskwire.connect(authkey=manager.key, reconnect=False)
    clients.append(client)
    assert client.port == manager.port
    client.ping()


def test_with_every_address_down_the_error_names_each_one() -> None:
    first, second = free_port(), free_port()
    with pytest.raises(taskwire.NoManagerReachable) as caught:
        taskwire.connect([at(first), at(second)], authkey=b"k", reconnect=False)
    assert isinstance(caught.value, taskwire.ConnectError)
    assert str(caught.value) == f"cannot connect to any of 2 managers: {refused(first)}; {refused(second)}"
    assert [address for address, _ in caught.value.failures] == [at(first), at(second)]


def test_a_wrong_key_at_the_first_address_stops_with_the_authentication_error(
    start_manager: Callable[..., Manager], tmp_path: Path
) -> None:
    wrong = start_manager(key=write_key_file(tmp_path / "other", secrets.token_hex(32).encode()))
    untouched = socket.socket()  # listens, and must never be connected to
    untouched.bind(("127.0.0.1", 0))
    untouched.listen(1)
    untouched.settimeout(0.5)
    try:
        with pytest.raises(taskwire.AuthenticationFailed) as caught:
            taskwire.connect([at(wrong.port), at(untouched.getsockname()[1])], authkey=b"not the key", reconnect=False)
        assert str(caught.value) == "authentication failed"
        with pytest.raises(socket.timeout):
            untouched.accept()
    finally:
        untouched.close()


def test_random_start_spreads_clients_over_the_managers(two_managers: List[Manager], clients: list) -> None:
    hosts = [at(m.port) for m in two_managers]
    ports = set()
    # All 24 on one of two managers happens once in 8 million runs.
    for _ in range(24):
        client = taskwire.connect(hosts, authkey=two_managers[0].key, reconnect=False, random_start=True)
        clients.append(client)
        ports.add(client.port)
    assert ports == {m.port for m in two_managers}


def test_in_order_by_default(two_managers: List[Manager], clients: list) -> None:
    for _ in range(5):
        client = taskwire.connect([at(m.port) for m in two_managers], authkey=two_managers[0].key, reconnect=False)
        clients.append(client)
        assert client.port == two_managers[0].port


def test_a_worker_loop_goes_on_via_the_other_manager_when_its_manager_is_killed(
    two_managers: List[Manager], clients: list, qname: str
) -> None:
    first, second = two_managers
    worker = taskwire.connect(
        [at(first.port), at(second.port)], authkey=first.key, name="failover-worker", reconnect=NO_BACKOFF_NEEDED
    )
    clients.append(worker)
    assert worker.port == first.port
    handled: List[str] = []
    cancel = taskwire.CancelToken()
    outcome: dict = {}

    def loop() -> None:
        try:
            outcome["count"] = worker.queue(qname).work(lambda task: handled.append(task.payload), cancel=cancel)
        except BaseException as error:  # recorded for the test to see
            outcome["error"] = error

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    producer = first.connect(name="producer", reconnect=False)
    clients.append(producer)
    producer.queue(qname).put("on the first manager")
    assert wait_until(lambda: len(handled) == 1, 15), handled

    kill(first)
    assert wait_until(lambda: worker.connected and worker.port == second.port, 15), (worker.connected, worker.port)

    producer2 = second.connect(name="producer-2", reconnect=False)
    clients.append(producer2)
    producer2.queue(qname).put("on the second manager")
    assert wait_until(lambda: len(handled) == 2, 15), handled
    assert handled == ["on the first manager", "on the second manager"]
    assert "failover-worker" in [c["name"] for c in producer2.clients()]
    assert "error" not in outcome, outcome

    cancel.cancel()
    thread.join(10)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome


def test_comes_back_to_the_first_manager_when_the_second_goes_away_too(
    start_manager: Callable[..., Manager], clients: list, qname: str
) -> None:
    first, second = start_manager(), start_manager()
    first_port = first.port
    client = taskwire.connect([at(first.port), at(second.port)], authkey=first.key, reconnect=FAST)
    clients.append(client)
    first.stop()
    assert wait_until(lambda: client.connected and client.port == second.port, 15)
    again = start_manager(port=first_port)
    second.stop()
    assert wait_until(lambda: client.connected and client.port == again.port, 15)
    client.queue(qname).put("on the first again")
    checker = again.connect(reconnect=False)
    clients.append(checker)
    assert checker.queue(qname).qsize() == 1


def test_a_wrong_key_at_the_next_address_stops_reconnecting_with_the_authentication_error(
    start_manager: Callable[..., Manager], clients: list, tmp_path: Path
) -> None:
    good = start_manager()
    wrong = start_manager(key=write_key_file(tmp_path / "other", secrets.token_hex(32).encode()))
    client = taskwire.connect([at(good.port), at(wrong.port)], authkey=good.key, reconnect=FAST)
    clients.append(client)
    good.stop()
    with pytest.raises(taskwire.AuthenticationFailed):
        client.wait_until_connected(timeout=15)
    with pytest.raises(taskwire.AuthenticationFailed):
        client.ping()


def test_giving_up_names_every_address_tried(two_managers: List[Manager], clients: list) -> None:
    first, second = two_managers
    ports = [first.port, second.port]
    client = taskwire.connect(
        [at(p) for p in ports],
        authkey=first.key,
        reconnect=taskwire.Reconnect(initial_delay=0.02, max_delay=0.05, max_attempts=3),
    )
    clients.append(client)
    first.stop()
    # Reconnected to the second at once; then the second goes away too.
    assert wait_until(lambda: client.connected and client.port == second.port, 15)
    second.stop()
    with pytest.raises(taskwire.ConnectionClosed) as caught:
        client.wait_until_connected(timeout=15)
    assert str(caught.value) == (
        f"gave up reconnecting to the managers at {at(ports[0])}, {at(ports[1])} after 3 attempts: "
        f"cannot reconnect to any of 2 managers: {refused(ports[0])}; {refused(ports[1])}"
    )


def test_addresses_precedence_and_syntax() -> None:
    env = {"TASKWIRE_HOST": "from-env:1", "TASKWIRE_PORT": ""}
    assert taskwire.resolve_addresses("h1,h2:9", env=env) == [("h1", 7400), ("h2", 9)]
    assert taskwire.resolve_addresses(env=env) == [("from-env", 1)]
    assert taskwire.resolve_addresses(env={"TASKWIRE_HOST": "", "TASKWIRE_PORT": " "}) == [("127.0.0.1", 7400)]
    assert taskwire.resolve_addresses("", env={"TASKWIRE_HOST": "h3"}) == [("h3", 7400)]
    assert taskwire.resolve_addresses(port=8000, env={"TASKWIRE_HOST": "h4", "TASKWIRE_PORT": "9000"}) == [("h4", 8000)]
    assert taskwire.resolve_addresses("[::1]:7401, ::1 ,[fe80::2],, h5 ,", env={}) == [
        ("::1", 7401),
        ("::1", 7400),
        ("fe80::2", 7400),
        ("h5", 7400),
    ]


@pytest.mark.parametrize(
    "host, env, message",
    [
        (None, {"TASKWIRE_HOST": "h1,h2:http"}, "the port of 'h2:http' in TASKWIRE_HOST is not a port number (1 to 65535)"),
        (["h1:70000"], {}, "the port of 'h1:70000' in host is not a port number (1 to 65535)"),
        (":7400", {}, "the manager address ':7400' in host has no host: write host:port"),
        (None, {"TASKWIRE_PORT": "x"}, "TASKWIRE_PORT ('x') is not a port number (1 to 65535)"),
        ([], {}, "host is an empty list: give at least one manager address"),
    ],
)
def test_a_bad_entry_raises_value_error_naming_it(host, env, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as caught:
        taskwire.resolve_addresses(host, env=env)
    assert str(caught.value) == message
