"""The strongest Python peer: an Authlib authorization server behind waitress.

The same small server the tests use (`tests/peers/authlib_server.py`, Authlib's
own server classes, approving at once), served by waitress, a production WSGI
server. `python bench/authlib_peer.py PORT` serves it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import waitress

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.authlib_server import RegisteredClient, make_app

CLIENT = RegisteredClient(
    client_id="pinecone-reader-sandbox",
    client_secret="sandbox-secret-not-for-production",
    redirect_uris=("http://127.0.0.1:8765/callback",),
    scopes=("read:page:confluence", "read:space:confluence", "offline_access"),
)

if __name__ == "__main__":
    waitress.serve(
        make_app(CLIENT),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        threads=8,
        connection_limit=1000,
        backlog=1024,
        _quiet=True,
    )
