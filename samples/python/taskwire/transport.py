"""Transport: bytes over TCP or TLS, safe for one reader thread and many writer threads."""

from __future__ import annotations

import functools
import socket
import ssl
import threading
from typing import Optional, Union

from .errors import ConnectionClosed

#: Bytes asked of one read. Not more: a larger request makes CPython allocate (and the
#: allocator map and unmap) a buffer that big for every read, which cost more than the
#: whole rest of a small request on the machines measured.
_RECV_BYTES = 64 * 1024


class _PlainTransport:
    """A TCP socket. One thread reads at a time (the channel's leader); many may write."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()  # frames from several threads must not interleave
        self.recv = functools.partial(sock.recv, _RECV_BYTES)

    def set_timeout(self, seconds: Optional[float]) -> None:
        self._sock.settimeout(seconds)

    def send(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    def recv_buffered(self) -> Optional[bytes]:
        """Data already received but not yet returned by :meth:`recv`: none here."""
        return None

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        _close_socket(self._sock)


#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH_CODES = (62, 64)


def _certificate_hint(verify_code: int) -> str:
    """What to do about a certificate the client refused: a wrong name, or an unknown CA."""
    if verify_code in _NAME_MISMATCH_CODES:
        return "(connect by a name or address the certificate lists, or pass server_hostname= with one)"
    return "(pass tls_ca= with the CA that signed the manager's certificate, or add that CA to the system's trust store)"


class _TlsTransport:
    """TLS over a TCP socket, with the TLS state in memory.

    OpenSSL does not allow one TLS connection to be read and written by two threads at
    once, which a blocking ``SSLSocket`` would do here (a thread waits in ``recv`` while
    others send). So the socket stays plain TCP, used full duplex, and the
    :class:`ssl.SSLObject` is touched only under a lock and never blocks.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: Optional[str]) -> None:
        self._sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._tls_lock = threading.Lock()  # guards the SSLObject and both BIOs
        self._send_lock = threading.Lock()  # keeps TLS records on the socket in the order made

    def set_timeout(self, seconds: Optional[float]) -> None:
        self._sock.settimeout(seconds)

    def fileno(self) -> int:
        return self._sock.fileno()

    def handshake(self) -> None:
        """The TLS handshake; runs before any other thread uses the transport."""
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._sock.sendall(self._outgoing.read())
                data = self._sock.recv(_RECV_BYTES)
                if not data:
                    raise ConnectionClosed("the manager closed the connection during the TLS handshake") from None
                self._incoming.write(data)
        out = self._outgoing.read()
        if out:
            self._sock.sendall(out)

    def send(self, data: bytes) -> None:
        with self._send_lock:
            with self._tls_lock:
                self._tls.write(data)
                out = self._outgoing.read()
            self._sock.sendall(out)
        self._send_pending()

    def _send_pending(self) -> None:
        """Sends TLS records made outside :meth:`send` (by reads, e.g. key updates).

        Whoever holds the send lock sends them; a thread that cannot take it leaves them to
        the holder, which checks again after releasing it.
        """
        while True:
            if not self._send_lock.acquire(blocking=False):
                return
            try:
                with self._tls_lock:
                    out = self._outgoing.read()
                if out:
                    self._sock.sendall(out)
            finally:
                self._send_lock.release()
            with self._tls_lock:
                if not self._outgoing.pending:
                    return

    def _read_tls(self) -> Optional[bytes]:
        """Decrypted data from what was received; None when a whole record is still missing."""
        with self._tls_lock:
            try:
                data: Optional[bytes] = self._tls.read(_RECV_BYTES)
            except ssl.SSLWantReadError:
                data = None
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                data = b""
            produced = self._outgoing.pending
        if produced:
            self._send_pending()
        return data

    def recv_buffered(self) -> Optional[bytes]:
        """Decrypted data from records already received, without reading the socket."""
        with self._tls_lock:  # the SSLObject is never used by two threads at once
            if not self._incoming.pending and not self._tls.pending():
                return None
        return self._read_tls()

    def recv(self) -> bytes:
        while True:
            data = self._read_tls()
            if data is not None:
                return data
            raw = self._sock.recv(_RECV_BYTES)
            with self._tls_lock:
                if raw:
                    self._incoming.write(raw)
                else:
                    self._incoming.write_eof()

    def close(self) -> None:
        _close_socket(self._sock)


_Transport = Union[_PlainTransport, _TlsTransport]


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv or poll
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
