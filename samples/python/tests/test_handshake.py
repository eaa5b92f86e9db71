"""The mutual handshake (spec §4), key resolution (§4.5) and what a wrong peer gets."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import warnings
from pathlib import Path

import pytest

import taskwire
from conftest import Manager, fake_manager, read_json, send_json, write_key_file

HELLO_RESULT = {
    "protocolVersion": "2026-11",
    "nonce": base64.b64encode(b"s" * 32).decode(),
    "server": {"name": "fake", "version": "0"},
}
LIMITS = {"maxFrameBytes": 1 << 24, "maxPayloadBytes": 1 << 23, "maxBatch": 10000, "maxSubscriptions": 32}


def test_proofs_match_the_test_vector_of_the_spec() -> None:
    client_nonce = base64.b64encode(hashlib.sha256(b"taskwire example client nonce").digest()).decode()
    server_nonce = base64.b64encode(hashlib.sha256(b"taskwire example server nonce").digest()).decode()
    assert client_nonce == "8cqUOnlQmGqlhbWhWgWYYc9WJrxqele+aESZU6rdY0U="
    assert taskwire.client_proof(b"biu", server_nonce, client_nonce, "2026-11") == (
        "0ce4d04b2a1c5d74dbb10f131661f6589d5a098b4899c0151aa2af4fefd452f5"
    )
    assert taskwire.server_proof(b"biu", server_nonce, client_nonce, "2026-11") == (
        "c9a403646fea1ca44d22cf81eae1b20d176b186436bc81f8c81ab824a286900f"
    )


def test_nonces_are_32_random_bytes_in_base64() -> None:
    nonces = {taskwire._new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    for nonce in nonces:
        assert len(nonce) == 44 and len(base64.b64decode(nonce)) == 32


def test_handshake_with_the_right_key(manager: Manager, clients: list) -> None:
    client = manager.connect(name="handshake-test", role="monitor", labels={"zone": "a"})
    clients.append(client)
    assert client.connected
    assert client.session_id
    # The client offers 2026-11 and 2026-12; the reference manager speaks both and chooses 2026-12.
    assert client.protocol_version == "2026-12"
    assert re.fullmatch(r"m-[0-9a-f]{12}", client.manager_id or ""), client.manager_id
    assert client.server["name"] == "taskwire"
    assert client.capabilities["autoCreateQueues"] is True
    assert set(client.limits) >= {"maxFrameBytes", "maxPayloadBytes", "maxBatch", "maxSubscriptions"}
    me = next(info for info in client.clients() if info["sessionId"] == client.session_id)
    assert me["name"] == "handshake-test"
    assert me["role"] == "monitor"
    assert me["labels"] == {"zone": "a"}
    assert me["language"].startswith("python ")
    assert me["pid"] == os.getpid()
    assert me["manager"] == client.manager_id


def test_a_2026_11_session_gets_no_manager_id(manager: Manager) -> None:
    raw = manager.raw()
    hello = raw.hello(["2026-11"])
    assert hello is not None and hello["result"]["protocolVersion"] == "2026-11"
    assert "managerId" not in hello["result"]
    raw.close()


def test_wrong_key_raises_authentication_failed(manager: Manager) -> None:
    with pytest.raises(taskwire.AuthenticationFailed) as raised:
        manager.connect(authkey=b"not the key")
    assert raised.value.code == -32001
    assert isinstance(raised.value, taskwire.RemoteError)


def test_wrong_server_proof_raises_and_drops_the_connection(key_file: Path) -> None:
    def impostor(conn, reader, seen):
        hello = read_json(reader)
        send_json(conn, {"jsonrpc": "2.0", "id": hello["id"], "result": HELLO_RESULT})
        authenticate = read_json(reader)
        seen["authenticate"] = authenticate
        send_json(
            conn,
            {
                "jsonrpc": "2.0",
                "id": authenticate["id"],
                "result": {
                    "sessionId": "s-1",
                    "serverProof": "0" * 64,
                    "capabilities": {"events": True, "framings": ["ndjson"], "autoCreateQueues": True},
                    "limits": LIMITS,
                },
            },
        )
        seen["after"] = conn.recv(1024)  # b"" once the client hung up

    with fake_manager(impostor) as (port, seen):
        with pytest.raises(taskwire.ServerProofError):
            taskwire.connect("127.0.0.1", port, authkey=b"biu", connect_timeout=5)
    assert seen["authenticate"]["method"] == "session/authenticate"
    assert seen.get("after") == b"", "the client must close the connection without sending anything more"


def test_an_error_during_the_handshake_is_raised_as_its_class() -> None:
    def broken(conn, reader, seen):
        hello = read_json(reader)
        send_json(conn, {"jsonrpc": "2.0", "id": hello["id"], "error": {"code": -32603, "message": "internal error"}})

    with fake_manager(broken) as (port, _):
        with pytest.raises(taskwire.InternalError):
            taskwire.connect("127.0.0.1", port, authkey=b"biu", connect_timeout=5)


def test_unsupported_version_from_the_manager() -> None:
    def old(conn, reader, seen):
        hello = read_json(reader)
        seen["versions"] = hello["params"]["protocolVersions"]
        send_json(
            conn,
            {
                "jsonrpc": "2.0",
                "id": hello["id"],
                "error": {
                    "code": -32003,
                    "message": "unsupported protocol version",
                    "data": {"supported": ["2025-01"]},
                },
            },
        )

    with fake_manager(old) as (port, seen):
        with pytest.raises(taskwire.UnsupportedProtocolVersion) as raised:
            taskwire.connect("127.0.0.1", port, authkey=b"biu", connect_timeout=5)
    assert raised.value.data["supported"] == ["2025-01"]
    assert seen["versions"] == ["2026-11", "2026-12"]


def test_a_silent_peer_times_out() -> None:
    def silent(conn, reader, seen):
        reader.readline()
        conn.recv(1024)  # until the client gives up

    with fake_manager(silent) as (port, _):
        with pytest.raises(taskwire.Timeout):
            taskwire.connect("127.0.0.1", port, authkey=b"biu", connect_timeout=0.5)


def test_refused_connection_raises_connect_error() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with pytest.raises(taskwire.ConnectError) as raised:
        taskwire.connect("127.0.0.1", free_port, authkey=b"biu", connect_timeout=2)
    assert "refused" in str(raised.value)
    assert isinstance(raised.value, ConnectionError)


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


def test_key_as_bytes_or_text() -> None:
    assert taskwire.resolve_authkey(b"biu") == b"biu"
    assert taskwire.resolve_authkey("bïu") == "bïu".encode()
    with pytest.raises(taskwire.AuthkeyError):
        taskwire.resolve_authkey(b"")


def test_key_file_loses_trailing_whitespace_only(tmp_path: Path) -> None:
    path = tmp_path / "authkey"
    path.write_bytes(b"  ab cd \t\r\n\n")
    path.chmod(0o600)
    assert taskwire.read_authkey_file(path) == b"  ab cd"


def test_key_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given_file = write_key_file(tmp_path / "given", b"from-file")
    env_file = write_key_file(tmp_path / "env", b"from-env-file")
    home = tmp_path / "home"
    home.mkdir()
    write_key_file(home / "authkey", b"from-home")
    monkeypatch.setenv("TASKWIRE_HOME", str(home))
    monkeypatch.setenv("TASKWIRE_AUTHKEY", "from-env")
    monkeypatch.setenv("TASKWIRE_AUTHKEY_FILE", str(env_file))
    assert taskwire.resolve_authkey(b"given") == b"given"
    assert taskwire.resolve_authkey(authkey_file=given_file) == b"from-file"
    assert taskwire.resolve_authkey() == b"from-env"
    monkeypatch.delenv("TASKWIRE_AUTHKEY")
    assert taskwire.resolve_authkey() == b"from-env-file"
    monkeypatch.delenv("TASKWIRE_AUTHKEY_FILE")
    assert taskwire.resolve_authkey() == b"from-home"
    assert taskwire.default_authkey_file() == str(home / "authkey")
    (home / "authkey").unlink()
    with pytest.raises(taskwire.AuthkeyError, match="no authkey"):
        taskwire.resolve_authkey()


def test_missing_or_empty_key_file(tmp_path: Path) -> None:
    with pytest.raises(taskwire.AuthkeyError, match="does not exist"):
        taskwire.read_authkey_file(tmp_path / "missing")
    empty = write_key_file(tmp_path / "empty", b"  ")
    with pytest.raises(taskwire.AuthkeyError, match="empty"):
        taskwire.read_authkey_file(empty)


def test_key_file_readable_by_others_warns(tmp_path: Path) -> None:
    path = tmp_path / "authkey"
    path.write_bytes(b"secret\n")
    path.chmod(0o644)
    with pytest.warns(taskwire.TaskwireWarning, match="readable by other users"):
        assert taskwire.read_authkey_file(path) == b"secret"
    path.chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        taskwire.read_authkey_file(path)


def test_client_finds_the_key_and_address_in_the_environment(manager: Manager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKWIRE_AUTHKEY_FILE", str(manager.key_file))
    monkeypatch.setenv("TASKWIRE_HOST", "127.0.0.1")
    monkeypatch.setenv("TASKWIRE_PORT", str(manager.port))
    with taskwire.connect() as client:
        assert (client.host, client.port) == ("127.0.0.1", manager.port)
        assert client.ping().endswith("Z")


def test_defaults_are_loopback_7400(monkeypatch: pytest.MonkeyPatch) -> None:
    client = taskwire.Client(authkey=b"biu")  # not opened: nothing is sent
    assert (client.host, client.port) == (taskwire.DEFAULT_HOST, taskwire.DEFAULT_PORT) == ("127.0.0.1", 7400)
