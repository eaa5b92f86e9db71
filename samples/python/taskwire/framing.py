"""Framing and encoding: NDJSON frames split off the byte stream, and compact JSON messages."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Optional, Union


class _ProtocolViolation(Exception):
    """The manager sent something this version of the protocol does not allow."""


class _EndOfStream(Exception):
    """The manager closed the connection."""


class _FrameReader:
    """Splits the byte stream into NDJSON frames, holding at most ``max_frame_bytes`` of one.

    Data is fed in by whoever reads the transport (:meth:`feed`); :meth:`buffered_frame`
    splits off complete frames without any I/O. The usual case, a read that holds whole
    frames only, is split without copying the read.
    """

    def __init__(self, recv: Callable[[], bytes], max_frame_bytes: int) -> None:
        self._recv = recv
        self._max = max_frame_bytes
        self._data: Union[bytes, bytearray] = b""
        self._start = 0  # where the next frame begins in _data
        self._scanned = 0  # bytes after _start already known to hold no line feed

    def buffered_frame(self) -> Optional[Union[bytes, bytearray]]:
        """The next complete non-blank frame without its line feed, or None (no I/O)."""
        data = self._data
        while True:
            end = data.find(b"\n", self._start + self._scanned)
            if end < 0:
                self._scanned = len(data) - self._start
                if self._scanned > self._max + 1:
                    raise _ProtocolViolation(f"the manager sent a frame larger than {self._max} bytes")
                return None
            line = data[self._start:end]
            self._start = end + 1
            self._scanned = 0
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self._max:
                raise _ProtocolViolation(f"the manager sent a frame larger than {self._max} bytes")
            if line.strip(b" \t\r"):
                return line

    def feed_one(self, data: bytes) -> Optional[bytes]:
        """Feeds ``data``; when it is exactly one frame and nothing was buffered (the usual
        case), returns that frame instead of buffering it."""
        if self._start >= len(self._data) and data[-1:] == b"\n" and data.find(b"\n") == len(data) - 1:
            self._data = b""
            self._start = self._scanned = 0
            line = data[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self._max:
                raise _ProtocolViolation(f"the manager sent a frame larger than {self._max} bytes")
            return line if line.strip(b" \t\r") else None
        self.feed(data)
        return None

    def feed(self, data: bytes) -> None:
        """Appends received bytes. Compacting once per read, not per frame, keeps it linear."""
        if self._start >= len(self._data):
            self._data = data
        else:
            rest = self._data
            if isinstance(rest, bytearray):
                del rest[: self._start]
            else:
                rest = bytearray(memoryview(rest)[self._start:])
            rest += data
            self._data = rest
        self._start = 0

    def read_frame(self) -> Optional[Union[bytes, bytearray]]:
        """The next frame, reading as needed; None at the end of the stream (handshake only)."""
        while True:
            frame = self.buffered_frame()
            if frame is not None:
                return frame
            data = self._recv()
            if not data:
                return None
            self.feed(data)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder()
_decode_json = _DECODER.decode
_scan_json = _DECODER.scan_once  # the C scanner: one value from an index, no white space


def _encode(message: Mapping[str, Any]) -> bytes:
    """One NDJSON frame: compact JSON (never a raw line feed) and a line feed."""
    try:
        return (_ENCODER.encode(message) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate in a string cannot be UTF-8; its \u escape is valid JSON.
        return (_ASCII_ENCODER.encode(message) + "\n").encode("ascii")


def _make_fast_encoder() -> Optional[Callable[[Any], str]]:
    """The C encoder of ``_ENCODER``, made once (``JSONEncoder.encode`` makes one per call),
    without its check for circular references: a circular value overflows the stack, and
    :func:`_encode_params` then encodes it again with the check, for its proper error."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    encode = make(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    join = "".join

    def fast(value: Any) -> str:
        if isinstance(value, str):
            return json.encoder.encode_basestring(value)
        return join(encode(value, 0))

    return fast


_fast_encode = _make_fast_encoder()


def _encode_params(params: Any) -> str:
    if _fast_encode is not None:
        try:
            return _fast_encode(params)
        except RecursionError:
            pass
    return _ENCODER.encode(params)


def _encode_request(request_id: int, method: str, params: Mapping[str, Any]) -> bytes:
    """``_encode`` of a request, without building the envelope object."""
    try:
        text = _encode_params(params)
        return f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{text}}}\n'.encode("utf-8")
    except UnicodeEncodeError:
        text = _ASCII_ENCODER.encode(params)
        return f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{text}}}\n'.encode("ascii")
