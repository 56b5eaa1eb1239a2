"""Making codes and tokens that look like Atlassian's: signed JWTs.

Since 2022 Atlassian's codes and tokens have been JWTs, though Atlassian says clients
must treat them as opaque (facts 1.4 and 2.3). The sandbox signs them with a key of its
own (HS256, through PyJWT) and never trusts their contents: every check looks the
token up by hash in the store. A random `jti` of 192 bits makes each value unguessable
(RFC 6749 section 10.10).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import jwt

AUDIENCE = "api.atlassian.com"


class Minter:
    """Signs the sandbox's codes and tokens."""

    def __init__(self, key: bytes, issuer: str) -> None:
        self._key = key
        self.issuer = issuer

    def _sign(self, claims: dict[str, object]) -> str:
        claims["jti"] = secrets.token_urlsafe(24)
        claims["iss"] = self.issuer
        return jwt.encode(claims, self._key, algorithm="HS256")

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
        return secrets.token_urlsafe(24)
