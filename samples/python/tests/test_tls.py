"""TLS (spec §2.2) with a certificate made at test time, and plain TCP next to it."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

import taskwire
from conftest import Manager


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_manager(key_file: Path, certificate: Tuple[Path, Path]) -> Iterator[Manager]:
    cert, key = certificate
    server = Manager(key_file, "--tls-cert", str(cert), "--tls-key", str(key)).start()
    yield server
    server.stop()


def test_tls_with_the_manager_certificate(tls_manager: Manager, certificate: Tuple[Path, Path], qname: str) -> None:
    cert, _ = certificate
    with tls_manager.connect(tls_ca=cert) as client:
        assert client.ping()
        tasks = client.queue(qname)
        big = "x" * 300_000  # several TLS records each way
        tasks.put({"blob": big}, reply_to=qname + ".r")
        task = tasks.get(timeout=2)
        assert task.payload["blob"] == big
        task.ack(big)
        assert client.queue(qname + ".r").get(timeout=2, auto_ack=True).payload["result"] == big


def test_tls_by_host_name_and_with_a_context(tls_manager: Manager, certificate: Tuple[Path, Path]) -> None:
    cert, _ = certificate
    with taskwire.connect("localhost", tls_manager.port, authkey=tls_manager.key, tls_ca=cert) as client:
        assert client.ping()
    context = ssl.create_default_context(cafile=str(cert))
    with tls_manager.connect(tls=context) as client:
        assert client.ping()


def test_tls_with_many_threads(tls_manager: Manager, certificate: Tuple[Path, Path], qname: str) -> None:
    cert, _ = certificate
    errors: List[BaseException] = []
    with tls_manager.connect(tls_ca=cert) as client:
        tasks = client.queue(qname)

        def work(index: int) -> None:
            try:
                for i in range(30):
                    tasks.put(f"{index}-{i}-" + "y" * 5000)
                    tasks.get(timeout=5).ack()
                    client.ping()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert tasks.join(timeout=2)


def test_tls_refuses_an_unknown_certificate(tls_manager: Manager) -> None:
    with pytest.raises(taskwire.ConnectError, match="TLS"):
        tls_manager.connect(tls=True)  # the system's CAs do not know the test certificate


def test_tls_refuses_a_wrong_host_name(tls_manager: Manager, certificate: Tuple[Path, Path]) -> None:
    cert, _ = certificate
    with pytest.raises(taskwire.ConnectError, match="TLS"):
        tls_manager.connect(tls_ca=cert, server_hostname="manager.example.com")


def test_plain_tcp_to_a_tls_manager_fails(tls_manager: Manager) -> None:
    with pytest.raises((taskwire.ConnectionClosed, taskwire.Timeout)):
        tls_manager.connect(connect_timeout=3)


def test_tls_to_a_plain_manager_fails(manager: Manager, certificate: Tuple[Path, Path]) -> None:
    cert, _ = certificate
    with pytest.raises(taskwire.ConnectError, match="TLS"):
        manager.connect(tls_ca=cert)


def test_plain_tcp_sets_no_delay(manager: Manager) -> None:
    import socket

    with manager.connect() as client:
        channel = client._current_channel()
        sock = channel._transport._sock  # type: ignore[union-attr]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert client.ping()


def test_tls_events_in_records_read_along_with_a_response(
    tls_manager: Manager, certificate: Tuple[Path, Path], qname: str
) -> None:
    # Events several TLS records long arrive right behind the put's response: whatever of
    # them the thread that read the response already received must still reach the
    # subscription, though the socket may have nothing left to wake the background reader.
    cert, _ = certificate
    with tls_manager.connect(tls_ca=cert) as client:
        events = client.subscribe(queues=[qname], kinds=["put"], include_payload=True)
        tasks = client.queue(qname)
        for i in range(20):
            payload = f"{i}-" + "z" * (40_000 + 997 * i)
            tasks.put(payload)
            assert events.get(timeout=10).payload == payload


def test_tls_a_blocked_get_leads_while_other_threads_call(
    tls_manager: Manager, certificate: Tuple[Path, Path], qname: str
) -> None:
    cert, _ = certificate
    with tls_manager.connect(tls_ca=cert) as client:
        tasks = client.queue(qname)
        got: List[str] = []
        getter = threading.Thread(target=lambda: got.append(tasks.get(True, timeout=30).payload))
        getter.start()
        for _ in range(30):
            assert client.ping()
        tasks.put("for the getter")
        getter.join(10)
        assert got == ["for the getter"]
