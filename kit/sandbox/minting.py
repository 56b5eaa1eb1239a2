"""Making codes and tokens that look like Atlassian's: signed JWTs.

Since 2022 Atlassian's codes and tokens have been JWTs, though Atlassian says clients
must treat them as opaque (facts 1.4 and 2.3). The sandbox signs them with a key of its
own (HS256, through PyJWT's JWS layer) and never trusts their contents: every check
looks the token up by hash in the store. A random `jti` of 192 bits makes each value
unguessable (RFC 6749 section 10.10).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterable
from typing import Any

from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS

AUDIENCE = "api.atlassian.com"
POOL_BYTES = 4096  # read from os.urandom at once, then handed out in slices
ID_BYTES = 24  # 192 bits: a `jti`, a consent id (RFC 6749 section 10.10)


class _RandomPool:
    """Unpredictable bytes from `os.urandom`, read a page at a time.

    The same source as `secrets`, without a system call for every token: each
    slice is handed out once, under a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""

    def take(self, count: int) -> bytes:
        with self._lock:
            if len(self._buffer) < count:
                self._buffer = os.urandom(POOL_BYTES)
            taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken


_POOL = _RandomPool()


def random_id() -> str:
    """A URL-safe random identifier of 192 bits, as `secrets.token_urlsafe(24)`."""
    return base64.urlsafe_b64encode(_POOL.take(ID_BYTES)).rstrip(b"=").decode()


class _PreparedHS256(HMACAlgorithm):
    """HS256 whose key was checked once, when the `Minter` was made.

    PyJWT prepares and measures the key on every `encode`; the sandbox signs
    three tokens a flow with one key, so it does that once.
    """

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def prepare_key(self, key: Any) -> bytes:
        return key  # type: ignore[no-any-return]

    def check_key_length(self, key: Any) -> None:
        return None


class Minter:
    """Signs the sandbox's codes and tokens."""

    def __init__(self, key: bytes, issuer: str) -> None:
        self._key = HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(key)
        self.issuer = issuer
        self._jws = PyJWS(algorithms=[])
        self._jws.register_algorithm("HS256", _PreparedHS256())

    def _sign(self, claims: dict[str, object]) -> str:
        claims["jti"] = random_id()
        claims["iss"] = self.issuer
        payload = json.dumps(claims, separators=(",", ":")).encode()
        return self._jws.encode(payload, self._key, algorithm="HS256")

    def code(self, client_id: str, now: float, lifetime: float) -> str:
        """An authorization code: opaque to clients, a JWT underneath."""
        return self._sign(
            {
                "typ": "code",
                "client_id": client_id,
                "iat": int(now),
                "exp": int(now + lifetime),
            }
        )

    def access_token(
        self,
        client_id: str,
        account_id: str,
        scopes: Iterable[str],
        now: float,
        lifetime: float,
    ) -> str:
        """An access token carrying its scope claim, as Atlassian's do."""
        return self._sign(
            {
                "typ": "access",
                "sub": account_id,
                "aud": AUDIENCE,
                "client_id": client_id,
                "scope": " ".join(sorted(scopes)),
                "iat": int(now),
                "exp": int(now + lifetime),
            }
        )

    def refresh_token(self, client_id: str, account_id: str, now: float) -> str:
        """A rotating refresh token; its expiry lives in the store, not the claims."""
        return self._sign(
            {
                "typ": "refresh",
                "sub": account_id,
                "client_id": client_id,
                "iat": int(now),
            }
        )

    def opaque(self) -> str:
        """A random handle for things that need no claims (consent transactions)."""
        return random_id()
