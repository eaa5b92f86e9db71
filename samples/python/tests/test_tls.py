"""TLS (spec §2.2) with certificates made by openssl at test time, and plain TCP next to it.

The manager serves a certificate signed by a test CA for IP:127.0.0.1 and DNS:localhost. The
client trusts that CA through ``tls_ca=``, or through the trust store Python's default context
reads (``SSL_CERT_FILE``, in a child process); a wrong CA and a wrong name are refused with an
error that says what to do. Without openssl these tests fail: they never skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

import pytest

import taskwire
from conftest import SAMPLE_DIR, Manager

CA_CONFIG = """[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = Taskwire test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

SERVER_EXTENSIONS = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {names}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def make_certificates(directory: Path, names: Sequence[str] = ("IP:127.0.0.1", "DNS:localhost")) -> Tuple[Path, Path, Path]:
    """A fresh CA and a server certificate it signs: (ca.pem, server.pem, server.key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail(
            "the TLS tests need openssl to make their certificates and it is not installed; "
            "install it (Debian: apt-get install openssl; npm test does so as root through scripts/setupTestTools.sh)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.cnf").write_text(CA_CONFIG)
    (directory / "server.cnf").write_text("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = localhost\n")
    (directory / "server.ext").write_text(SERVER_EXTENSIONS.format(names=", ".join(names)))
    ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        ["req", "-x509", "-config", "ca.cnf", *ec_key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
        ["req", "-new", "-config", "server.cnf", *ec_key, "-keyout", "server.key", "-out", "server.csr"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x" + secrets.token_hex(8),
         "-days", "2", "-extfile", "server.ext", "-out", "server.pem"],
    ):
        subprocess.run([openssl, *command], cwd=directory, check=True, capture_output=True, timeout=60)
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key) for the TLS manager."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def certificate(authority: Tuple[Path, Path, Path]) -> Tuple[Path, Path]:
    """(the CA clients trust, the server's key): what the tests below pass as tls_ca and serve."""
    ca, _, key = authority
    return ca, key


@pytest.fixture(scope="module")
def tls_manager(key_file: Path, authority: Tuple[Path, Path, Path]) -> Iterator[Manager]:
    _, cert, key = authority
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


SYSTEM_STORE_CLIENT = """
import sys
import taskwire
port, key = int(sys.argv[1]), sys.argv[2]
with taskwire.connect("127.0.0.1", port, authkey=key, tls=True, connect_timeout=10) as client:
    tasks = client.queue("tls-system-store")
    tasks.put("through the system store")
    print(tasks.get(timeout=5, auto_ack=True).payload)
"""


def run_system_store_client(manager: Manager, env: "dict[str, str]") -> "subprocess.CompletedProcess[str]":
    """The client with tls=True in a fresh interpreter: ssl reads SSL_CERT_FILE when it loads the defaults."""
    return subprocess.run(
        [sys.executable, "-c", SYSTEM_STORE_CLIENT, str(manager.port), manager.key.decode()],
        cwd=SAMPLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tls_true_trusts_the_system_store_named_by_ssl_cert_file(tls_manager: Manager, certificate: Tuple[Path, Path]) -> None:
    ca, _ = certificate
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    trusted = run_system_store_client(tls_manager, {**env, "SSL_CERT_FILE": str(ca)})
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout.strip() == "through the system store"
    # The same program with the system's usual store is refused: the store is what trusted it.
    bare = run_system_store_client(tls_manager, env)
    assert bare.returncode == 1
    assert bare.stderr.strip().splitlines()[-1] == (
        f"taskwire.ConnectError: TLS with the manager at 127.0.0.1:{tls_manager.port} failed: unable to get local issuer "
        "certificate (pass tls_ca= with the CA that signed the manager's certificate, or add that CA to the system's trust store)"
    )


def test_tls_refuses_an_unknown_certificate(tls_manager: Manager) -> None:
    with pytest.raises(taskwire.ConnectError) as caught:
        tls_manager.connect(tls=True)  # the system's CAs do not know the test CA
    assert str(caught.value) == (
        f"TLS with the manager at 127.0.0.1:{tls_manager.port} failed: unable to get local issuer certificate "
        "(pass tls_ca= with the CA that signed the manager's certificate, or add that CA to the system's trust store)"
    )


def test_tls_refuses_a_certificate_signed_by_another_ca(tls_manager: Manager, tmp_path: Path) -> None:
    other_ca, _, _ = make_certificates(tmp_path / "other")
    with pytest.raises(taskwire.ConnectError) as caught:
        tls_manager.connect(tls_ca=other_ca)
    assert str(caught.value) == (
        f"TLS with the manager at 127.0.0.1:{tls_manager.port} failed: unable to get local issuer certificate "
        "(pass tls_ca= with the CA that signed the manager's certificate, or add that CA to the system's trust store)"
    )


def test_tls_refuses_a_wrong_host_name(tls_manager: Manager, certificate: Tuple[Path, Path]) -> None:
    cert, _ = certificate
    with pytest.raises(taskwire.ConnectError) as caught:
        tls_manager.connect(tls_ca=cert, server_hostname="manager.example.com")
    assert str(caught.value) == (
        f"TLS with the manager at 127.0.0.1:{tls_manager.port} failed: Hostname mismatch, certificate is not valid for "
        "'manager.example.com'. (connect by a name or address the certificate lists, or pass server_hostname= with one)"
    )


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
