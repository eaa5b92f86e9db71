"""Opening a channel: the TCP connection, TLS (if configured) and the mutual handshake
(``session/hello``, ``session/authenticate``, spec §4), with a deadline for all of it."""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any, Callable, Dict, Mapping, Optional

from .auth import _new_nonce, _proof_matches, client_proof, server_proof
from .channel import _Channel
from .constants import PROTOCOL_VERSIONS
from .errors import ConnectError, ConnectionClosed, ServerProofError, TaskwireError, Timeout, remote_error
from .framing import _encode, _FrameReader, _ProtocolViolation
from .transport import _certificate_hint, _close_socket, _PlainTransport, _TlsTransport, _Transport


def _open_channel(
    *,
    host: str,
    port: int,
    key: bytes,
    ssl_context: Optional[ssl.SSLContext],
    server_hostname: Optional[str],
    description: Mapping[str, Any],
    connect_timeout: float,
    max_frame_bytes: int,
    on_close: Callable[[_Channel], None],
    on_event: Callable[[_Channel, Mapping[str, Any]], None],
) -> _Channel:
    """Connects, runs TLS (if configured) and the mutual handshake, and starts the reader."""
    where = f"{host}:{port}"
    deadline = time.monotonic() + connect_timeout
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except socket.gaierror as error:
        raise ConnectError(f"cannot connect to the manager at {where}: unknown host ({error.strerror})") from None
    except ConnectionRefusedError:
        raise ConnectError(
            f"cannot connect to the manager at {where}: connection refused (is `taskwire serve` running there?)"
        ) from None
    except socket.timeout:
        raise ConnectError(f"cannot connect to the manager at {where}: no answer in {connect_timeout:g} s") from None
    except OSError as error:
        raise ConnectError(f"cannot connect to the manager at {where}: {error.strerror or error}") from None
    # Without TCP_NODELAY, Nagle's algorithm and delayed acknowledgements stall small frames.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    transport: _Transport
    try:
        if ssl_context is not None:
            transport = _TlsTransport(sock, ssl_context, server_hostname)
            try:
                transport.handshake()
            except ssl.SSLCertVerificationError as error:
                raise ConnectError(
                    f"TLS with the manager at {where} failed: {error.verify_message or error} "
                    + _certificate_hint(error.verify_code)
                ) from None
            except ssl.SSLError as error:
                raise ConnectError(
                    f"TLS with the manager at {where} failed: {error.reason or error} (does it serve TLS?)"
                ) from None
        else:
            transport = _PlainTransport(sock)
    except socket.timeout:
        _close_socket(sock)
        raise Timeout(f"the manager at {where} did not complete the TLS handshake in {connect_timeout:g} s") from None
    except BaseException:
        _close_socket(sock)
        raise

    def recv_before_deadline() -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        transport.set_timeout(remaining)
        return transport.recv()

    frames = _FrameReader(recv_before_deadline, max_frame_bytes)

    def handshake_request(request_id: int, method: str, params: Mapping[str, Any]) -> Dict[str, Any]:
        transport.send(_encode({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        while True:
            frame = frames.read_frame()
            if frame is None:
                raise ConnectionClosed(f"the manager at {where} closed the connection during the handshake")
            try:
                message = json.loads(frame.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ConnectionClosed(f"the peer at {where} does not speak the Taskwire protocol") from None
            if not isinstance(message, dict) or "method" in message:
                continue
            error = message.get("error")
            if isinstance(error, dict) and message.get("id") in (request_id, None):
                raise remote_error(error.get("code"), error.get("message", ""), error.get("data"))
            if message.get("id") == request_id and isinstance(message.get("result"), dict):
                return message["result"]

    try:
        client_nonce = _new_nonce()
        hello = handshake_request(
            1,
            "session/hello",
            {"protocolVersions": list(PROTOCOL_VERSIONS), "nonce": client_nonce, "client": dict(description)},
        )
        version = hello.get("protocolVersion")
        server_nonce = hello.get("nonce")
        if version not in PROTOCOL_VERSIONS or not isinstance(server_nonce, str):
            raise ConnectionClosed(f"the peer at {where} chose protocol version {version!r}, which was not offered")
        proof = client_proof(key, server_nonce, client_nonce, version)
        session = handshake_request(2, "session/authenticate", {"proof": proof})
        if not _proof_matches(server_proof(key, server_nonce, client_nonce, version), session.get("serverProof")):
            # Close without another word: the peer does not hold the key (spec §4.3).
            raise ServerProofError(
                f"the peer at {where} failed to prove it knows the authkey: it is not the manager you meant to reach"
            )
    except socket.timeout:
        transport.close()
        raise Timeout(f"the manager at {where} did not complete the handshake in {connect_timeout:g} s") from None
    except (_ProtocolViolation, ssl.SSLError, OSError) as error:
        transport.close()
        if isinstance(error, TaskwireError):
            raise
        raise ConnectionClosed(
            f"the connection to the manager at {where} failed during the handshake: {error}"
        ) from None
    except BaseException:
        transport.close()
        raise
    channel = _Channel(transport, frames, where, hello, session, on_close, on_event)
    frames._recv = transport.recv  # no deadline once authenticated
    announced = channel.limits.get("maxFrameBytes")
    if isinstance(announced, int) and announced > frames._max:
        frames._max = announced  # a client must read frames as large as the manager reads (spec §9.4)
    channel.start()
    return channel
