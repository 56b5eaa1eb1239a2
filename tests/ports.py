"""A free TCP port on loopback, for a server or a callback a test starts itself."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on right now (another process may take it later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
