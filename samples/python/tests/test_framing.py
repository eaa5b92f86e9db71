"""NDJSON framing as the client reads it (spec §3), against fake managers that push the edges."""

from __future__ import annotations

import json
import threading
import time

import pytest

import taskwire
from conftest import fake_handshake, fake_manager, read_json, send_json

KEY = b"biu"


def test_frames_split_into_bytes_with_crlf_blank_lines_and_unknown_notifications() -> None:
    def manager(conn, reader, seen):
        fake_handshake(conn, reader, KEY)
        ping = read_json(reader)
        seen["ping"] = ping
        result = {"time": "2026-11-03T09:14:07.512Z", "new": 1}  # an unknown member is ignored
        response = json.dumps({"jsonrpc": "2.0", "id": ping["id"], "result": result})
        wire = b"\n  \r\n" + b'{"jsonrpc":"2.0","method":"server/hint","params":{}}\n' + response.encode() + b"\r\n"
        for byte in wire:
            conn.sendall(bytes([byte]))
        conn.recv(1024)

    with fake_manager(manager) as (port, seen):
        with taskwire.connect("127.0.0.1", port, authkey=KEY, reconnect=False) as client:
            assert client.session_id == "fake-session"
            assert client.ping() == "2026-11-03T09:14:07.512Z"
    assert seen["ping"] == {"jsonrpc": "2.0", "id": 3, "method": "session/ping", "params": {}}


def test_frames_the_client_sends_are_compact_single_lines() -> None:
    def manager(conn, reader, seen):
        fake_handshake(conn, reader, KEY)
        seen["line"] = reader.readline()
        request = json.loads(seen["line"])
        send_json(conn, {"jsonrpc": "2.0", "id": request["id"], "result": {"ids": ["t-1"]}})
        conn.recv(1024)

    with fake_manager(manager) as (port, seen):
        with taskwire.connect("127.0.0.1", port, authkey=KEY, reconnect=False) as client:
            assert client.queue("tasks").put({"text": "line one\nline two", "emoji": "😀"}) == "t-1"
    line = seen["line"]
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and b", " not in line and b": " not in line
    assert json.loads(line)["params"]["tasks"][0]["payload"] == {"text": "line one\nline two", "emoji": "😀"}


def test_a_frame_that_is_not_json_drops_the_connection() -> None:
    def manager(conn, reader, seen):
        fake_handshake(conn, reader, KEY)
        read_json(reader)
        conn.sendall(b"this is not json\n")
        conn.recv(1024)

    with fake_manager(manager) as (port, _):
        with taskwire.connect("127.0.0.1", port, authkey=KEY, reconnect=False) as client:
            with pytest.raises(taskwire.ConnectionClosed, match="not UTF-8 JSON"):
                client.ping()


def test_invalid_utf8_drops_the_connection() -> None:
    def manager(conn, reader, seen):
        fake_handshake(conn, reader, KEY)
        request = read_json(reader)
        conn.sendall(b'{"jsonrpc":"2.0","id":%d,"result":{"time":"\xff"}}\n' % request["id"])
        conn.recv(1024)

    with fake_manager(manager) as (port, _):
        with taskwire.connect("127.0.0.1", port, authkey=KEY, reconnect=False) as client:
            with pytest.raises(taskwire.ConnectionClosed):
                client.ping()


def test_a_frame_above_the_read_limit_drops_the_connection() -> None:
    def manager(conn, reader, seen):
        limits = {"maxFrameBytes": 500, "maxPayloadBytes": 100, "maxBatch": 10, "maxSubscriptions": 1}
        fake_handshake(conn, reader, KEY, limits=limits)
        read_json(reader)
        conn.sendall(b'{"jsonrpc":"2.0","id":3,"result":{"time":"' + b"x" * 5000 + b'"}}\n')
        conn.recv(1024)

    with fake_manager(manager) as (port, _):
        with taskwire.connect("127.0.0.1", port, authkey=KEY, reconnect=False, max_frame_bytes=1000) as client:
            with pytest.raises(taskwire.ConnectionClosed, match="larger than 1000 bytes"):
                client.ping()


def test_an_error_for_a_frame_is_raised_when_the_manager_then_closes() -> None:
    def manager(conn, reader, seen):
        fake_handshake(conn, reader, KEY)
        read_json(reader)
        error = {"code": -32004, "message": "frame too large", "data": {"limit": 2048}}
        send_json(conn, {"jsonrpc": "2.0", "id": None, "error": error})

    with fake_manager(manager) as (port, _):
        with taskwire.connect("127.0.0.1", port, authkey=KEY, reconnect=False) as client:
            with pytest.raises(taskwire.FrameTooLarge):
                client.ping()


def test_responses_are_matched_by_id_in_any_order() -> None:
    def manager(conn, reader, seen):
        fake_handshake(conn, reader, KEY)
        first, second = read_json(reader), read_json(reader)
        send_json(conn, {"jsonrpc": "2.0", "id": second["id"], "result": {"time": "second"}})
        time.sleep(0.1)
        send_json(conn, {"jsonrpc": "2.0", "id": first["id"], "result": {"time": "first"}})
        conn.recv(1024)

    with fake_manager(manager) as (port, _):
        with taskwire.connect("127.0.0.1", port, authkey=KEY, reconnect=False) as client:
            answers = {}
            slow = threading.Thread(target=lambda: answers.setdefault("first", client.ping()))
            slow.start()
            time.sleep(0.1)
            answers["second"] = client.ping()
            slow.join(5)
            assert answers == {"first": "first", "second": "second"}
