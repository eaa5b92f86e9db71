"""Keys and the handshake's cryptography: where the shared key comes from, nonces and the
HMAC proofs of ``session/authenticate`` (spec §4.3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import warnings
from typing import Any, Union

from .errors import AuthkeyError, TaskwireWarning

_NONCE_BYTES = 32


def default_authkey_file() -> str:
    """Where ``taskwire serve`` writes a generated key: ``$TASKWIRE_HOME/authkey``."""
    home = os.environ.get("TASKWIRE_HOME") or os.path.join(os.path.expanduser("~"), ".taskwire")
    return os.path.join(home, "authkey")


def read_authkey_file(path: Union[str, "os.PathLike[str]"]) -> bytes:
    """The key held by a key file: its content without trailing whitespace, as bytes.

    A generated key file holds hexadecimal text, and that text itself is the key.
    Warns (:class:`TaskwireWarning`) when other users can read the file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as key_file:
            content = key_file.read()
            mode = os.fstat(key_file.fileno()).st_mode
    except FileNotFoundError:
        raise AuthkeyError(f"authkey file {path} does not exist") from None
    except OSError as error:
        raise AuthkeyError(f"cannot read authkey file {path}: {error.strerror or error}") from None
    if os.name == "posix" and mode & 0o044:
        warnings.warn(
            f"authkey file {path} is readable by other users; make it private with chmod 600",
            TaskwireWarning,
            stacklevel=3,
        )
    key = content.rstrip(b" \t\r\n")
    if not key:
        raise AuthkeyError(f"authkey file {path} is empty")
    return key


def resolve_authkey(
    authkey: Union[bytes, str, None] = None,
    authkey_file: Union[str, "os.PathLike[str]", None] = None,
) -> bytes:
    """Finds the key the way every Taskwire tool does.

    The first given of: ``authkey`` (bytes, or text used as UTF-8), ``authkey_file``,
    ``$TASKWIRE_AUTHKEY``, ``$TASKWIRE_AUTHKEY_FILE``, then the default key file
    (``$TASKWIRE_HOME/authkey``, by default ``~/.taskwire/authkey``).
    """
    if authkey is not None:
        key = authkey.encode("utf-8") if isinstance(authkey, str) else bytes(authkey)
        if not key:
            raise AuthkeyError("the authkey is empty")
        return key
    if authkey_file is not None:
        return read_authkey_file(authkey_file)
    from_env = os.environ.get("TASKWIRE_AUTHKEY")
    if from_env:
        return from_env.encode("utf-8")
    file_from_env = os.environ.get("TASKWIRE_AUTHKEY_FILE")
    if file_from_env:
        return read_authkey_file(file_from_env)
    fallback = default_authkey_file()
    if os.path.exists(fallback):
        return read_authkey_file(fallback)
    raise AuthkeyError(
        "no authkey: pass authkey= or authkey_file=, set TASKWIRE_AUTHKEY or "
        f"TASKWIRE_AUTHKEY_FILE, or start `taskwire serve` on this machine so {fallback} exists"
    )


def _new_nonce() -> str:
    """32 bytes from the operating system's CSPRNG, base64 with padding (44 characters)."""
    return base64.b64encode(secrets.token_bytes(_NONCE_BYTES)).decode("ascii")


def _proof(label: str, key: bytes, server_nonce: str, client_nonce: str, version: str) -> str:
    message = f"{label}\n{server_nonce}\n{client_nonce}\n{version}".encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def client_proof(key: bytes, server_nonce: str, client_nonce: str, version: str) -> str:
    """The client's proof for ``session/authenticate`` (spec §4.3), lowercase hex."""
    return _proof("taskwire-client", key, server_nonce, client_nonce, version)


def server_proof(key: bytes, server_nonce: str, client_nonce: str, version: str) -> str:
    """The proof a genuine manager returns; a different label, so proofs cannot be reflected."""
    return _proof("taskwire-server", key, server_nonce, client_nonce, version)


def _proof_matches(expected: str, given: Any) -> bool:
    """Constant-time comparison; anything but the exact lowercase hex string fails."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))
