"""Fixtures: real `taskwire serve` managers as child processes, raw sockets and fake managers.

Every manager, client and thread started here is stopped at teardown, every wait is bounded,
and keys live in temporary directories (TASKWIRE_HOME points there, never at ~/.taskwire).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import taskwire

SAMPLE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SAMPLE_DIR.parents[1]
SERVER_BIN = REPO_ROOT / "server" / "bin" / "taskwire.js"
NODE = shutil.which("node")

#: Environment variables that would make a test depend on the machine it runs on.
TASKWIRE_VARIABLES = ("TASKWIRE_AUTHKEY", "TASKWIRE_AUTHKEY_FILE", "TASKWIRE_HOST", "TASKWIRE_PORT", "TASKWIRE_HOME")


def write_key_file(path: Path, key: bytes) -> Path:
    path.write_bytes(key + b"\n")
    path.chmod(0o600)
    return path


class Manager:
    """A real manager: `node server/bin/taskwire.js serve --json` in a child process."""

    def __init__(self, key_file: Path, *options: str, port: int = 0, env: Optional[Dict[str, str]] = None) -> None:
        self.key_file = key_file
        self.key = taskwire.read_authkey_file(key_file)
        self.options = options
        self.requested_port = port
        self.env = env
        self.port = 0
        self.lines: List[str] = []
        self.process: Optional[subprocess.Popen[str]] = None
        self._ready = threading.Event()
        self._reader: Optional[threading.Thread] = None

    def start(self, timeout: float = 20) -> "Manager":
        if NODE is None:
            pytest.fail("node is not installed: the tests need it to run the reference manager")
        command = [NODE, str(SERVER_BIN), "serve", "--port", str(self.requested_port)]
        command += ["--authkey-file", str(self.key_file), "--json", *self.options]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env or os.environ.copy(),
        )
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or not self.port:
            self.stop()
            pytest.fail(f"the manager did not start in {timeout} s; it printed:\n" + "\n".join(self.lines))
        return self

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("message") == "ready":
                self.port = int(entry["port"])
                self._ready.set()
        self._ready.set()  # the process ended: start() stops waiting

    def stop(self, timeout: float = 10) -> Optional[int]:
        """SIGTERM (a graceful shutdown), then SIGKILL if it does not end in time."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def connect(self, **options: Any) -> taskwire.Client:
        options.setdefault("authkey", self.key)
        options.setdefault("connect_timeout", 5)
        return taskwire.connect("127.0.0.1", self.port, **options)

    def raw(self, **options: Any) -> "RawConnection":
        return RawConnection(self.port, **options)


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """TASKWIRE_HOME in a temporary directory, and no TASKWIRE_* settings of the machine."""
    home = tmp_path_factory.mktemp("taskwire-home")
    saved = {name: os.environ.get(name) for name in TASKWIRE_VARIABLES}
    for name in TASKWIRE_VARIABLES:
        os.environ.pop(name, None)
    os.environ["TASKWIRE_HOME"] = str(home)
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The key of the shared manager: 32 random bytes as hex, like a generated key file."""
    return write_key_file(tmp_path_factory.mktemp("keys") / "authkey", secrets.token_hex(32).encode())


@pytest.fixture(scope="session")
def manager(key_file: Path) -> Iterator[Manager]:
    """One manager with default options, shared by the tests that need nothing special."""
    server = Manager(key_file).start()
    yield server
    server.stop()


@pytest.fixture
def start_manager(key_file: Path) -> Iterator[Callable[..., Manager]]:
    """Starts managers with options of a test's choosing; stops them after the test."""
    started: List[Manager] = []

    def start(*options: str, port: int = 0, key: Optional[Path] = None) -> Manager:
        server = Manager(key or key_file, *options, port=port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def clients() -> Iterator[List[taskwire.Client]]:
    """Clients to close after the test: append them."""
    opened: List[taskwire.Client] = []
    yield opened
    for client in opened:
        client.close()


@pytest.fixture
def client(manager: Manager, clients: List[taskwire.Client]) -> taskwire.Client:
    """A client of the shared manager."""
    connected = manager.connect(name="pytest")
    clients.append(connected)
    return connected


@pytest.fixture
def qname() -> str:
    """A queue name no other test uses."""
    return f"q-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------------------------
# A raw connection, for what the client never sends
# --------------------------------------------------------------------------------------------


class RawConnection:
    """One TCP connection speaking the protocol by hand."""

    def __init__(self, port: int, timeout: float = 5) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, message: Dict[str, Any]) -> None:
        self.send_bytes(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def receive(self) -> Optional[Dict[str, Any]]:
        """The next message; None when the manager closed the connection."""
        while b"\n" not in self.buffer:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def request(
        self, request_id: Any, method: str, params: Optional[Dict[str, Any]] = None
    ) -> Optional[Dict[str, Any]]:
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.receive()

    def hello(self, versions: Optional[List[str]] = None) -> Optional[Dict[str, Any]]:
        nonce = taskwire._new_nonce()
        response = self.request(
            1, "session/hello", {"protocolVersions": versions or ["2026-11"], "nonce": nonce, "client": {"name": "raw"}}
        )
        self.client_nonce = nonce
        return response

    def handshake(self, key: bytes) -> Dict[str, Any]:
        hello = self.hello()
        assert hello is not None and "result" in hello, hello
        result = hello["result"]
        proof = taskwire.client_proof(key, result["nonce"], self.client_nonce, result["protocolVersion"])
        response = self.request(2, "session/authenticate", {"proof": proof})
        assert response is not None and "result" in response, response
        return response["result"]

    def closed_by_peer(self, timeout: float = 5) -> bool:
        """True when the manager closes the connection within ``timeout`` seconds."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()


def error_of(response: Optional[Dict[str, Any]]) -> taskwire.RemoteError:
    """The client's exception for an error response."""
    assert response is not None and "error" in response, response
    error = response["error"]
    return taskwire.remote_error(error["code"], error["message"], error.get("data"))


# --------------------------------------------------------------------------------------------
# A fake manager, for answers a real one never gives
# --------------------------------------------------------------------------------------------


def send_json(conn: socket.socket, message: Dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def read_json(reader: Any) -> Dict[str, Any]:
    line = reader.readline()
    assert line, "the client closed the connection"
    return json.loads(line)


@contextmanager
def fake_manager(script: Callable[[socket.socket, Any, Dict[str, Any]], None]) -> Iterator[tuple]:
    """A one-connection server that runs ``script(conn, reader, seen)`` in a thread.

    Yields ``(port, seen)``: ``seen`` is what the script recorded.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(10)
    seen: Dict[str, Any] = {}

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        conn.settimeout(5)
        try:
            with conn, conn.makefile("rb") as reader:
                script(conn, reader, seen)
        except Exception as error:  # recorded for the test to see
            seen["error"] = error

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        thread.join(10)
        server.close()


def fake_handshake(
    conn: socket.socket, reader: Any, key: bytes, limits: Optional[Dict[str, int]] = None, version: str = "2026-11"
) -> None:
    """The manager's side of a correct handshake, for fake managers that misbehave later.

    ``version`` is the protocol version the fake chooses; from 2026-12 it also says its
    ``managerId`` (``m-fake``).
    """
    hello = read_json(reader)
    assert version in hello["params"]["protocolVersions"], hello
    server_nonce = taskwire._new_nonce()
    client_nonce = hello["params"]["nonce"]
    hello_result: Dict[str, Any] = {"protocolVersion": version, "nonce": server_nonce, "server": {"name": "fake", "version": "0"}}
    if version >= "2026-12":
        hello_result["managerId"] = "m-fake"
    send_json(conn, {"jsonrpc": "2.0", "id": hello["id"], "result": hello_result})
    authenticate = read_json(reader)
    assert authenticate["params"]["proof"] == taskwire.client_proof(key, server_nonce, client_nonce, version)
    result = {
        "sessionId": "fake-session",
        "serverProof": taskwire.server_proof(key, server_nonce, client_nonce, version),
        "capabilities": {"events": True, "framings": ["ndjson"], "autoCreateQueues": True},
        "limits": limits
        or {"maxFrameBytes": 1 << 24, "maxPayloadBytes": 1 << 23, "maxBatch": 10000, "maxSubscriptions": 32},
    }
    send_json(conn, {"jsonrpc": "2.0", "id": authenticate["id"], "result": result})


def wait_until(predicate: Callable[[], bool], timeout: float = 5, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
