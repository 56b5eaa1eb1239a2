"""`python -m kit.sandbox`: serve the sandbox in the foreground, for one or a room.

Without client options it registers the kit's own sandbox app and prints how to use
it; with `--client-id`, `--client-secret` and `--redirect-uri` it registers yours.
It prints its base URL, and stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from urllib.parse import urlsplit

from kit.sandbox.scenario import (
    SANDBOX_APP_SCOPES,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    App,
    sandbox_app,
)
from kit.sandbox.server import Sandbox
from kit.sandbox.settings import PROFILES


def build_parser() -> argparse.ArgumentParser:
    """The command line, whose options are a contract with users' scripts."""
    parser = argparse.ArgumentParser(
        prog="python -m kit.sandbox",
        description="Serve an offline emulator of Atlassian's 3LO and Confluence.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=_port, default=8000, help="0 picks a free port")
    parser.add_argument("--profile", choices=PROFILES, default="atlassian")
    parser.add_argument("--client-id", help="register your own app: its client id")
    parser.add_argument("--client-secret", help="... its client secret")
    parser.add_argument("--redirect-uri", help="... its callback URL, exactly")
    parser.add_argument(
        "--allow-remote-admin",
        action="store_true",
        help="let callers other than loopback move the clock and change settings",
    )
    return parser


def _port(text: str) -> int:
    """A TCP port number for `--port`, or argparse's usage error."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number; give 0 to 65535 (0 picks a free port)"
        )
    return port


def app_from(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[App, bool]:
    """The app to register, and whether it is the kit's own.

    A wrong combination ends the program through `parser.error`: a usage message
    on stderr and exit status 2, as for any other bad option.
    """
    given = [args.client_id, args.client_secret, args.redirect_uri]
    if not any(given):
        return sandbox_app(), True
    if not all(given):
        parser.error(
            "give all three of --client-id, --client-secret and --redirect-uri, "
            "or none to use the kit's own sandbox app"
        )
    parts = urlsplit(args.redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        parser.error(
            f"--redirect-uri {args.redirect_uri!r} is not an absolute http(s) URL; "
            f"for example {SANDBOX_REDIRECT_URI}"
        )
    if not args.redirect_uri.isascii():
        parser.error("--redirect-uri must be ASCII; percent-encode other characters")
    app = App(
        client_id=args.client_id,
        client_secret=args.client_secret,
        name=f"{args.client_id} (sandbox)",
        redirect_uris=(args.redirect_uri,),
        scopes=SANDBOX_APP_SCOPES,
    )
    return app, False


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, start serving, and block until stopped."""
    parser = build_parser()
    args = parser.parse_args(argv)
    app, own = app_from(args, parser)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    sandbox = Sandbox(
        args.profile,
        apps=(app,),
        host=args.host,
        port=args.port,
        allow_remote_admin=args.allow_remote_admin,
    )
    with _stop_signals_caught() as stop_requested:
        try:
            sandbox.bind()
        except OSError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(sandbox.url, flush=True)
        print(_usage(sandbox, app, own), flush=True)
        sandbox.serve_forever(stop_requested)
    print("The sandbox has stopped.", flush=True)
    return 0


@contextlib.contextmanager
def _stop_signals_caught() -> Iterator[threading.Event]:
    """Inside, Ctrl-C or SIGTERM asks for a clean stop, even before serving.

    Without this, a signal between printing the URL and the server taking over
    would end the program with a traceback or death by signal. The previous
    handlers come back on the way out.
    """
    stop_requested = threading.Event()

    def request_stop(sig: int, frame: FrameType | None) -> None:
        stop_requested.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop_requested
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, request_stop) for sig in signals}
    try:
        yield stop_requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _usage(sandbox: Sandbox, app: App, own: bool) -> str:
    lines = [
        f"Atlassian 3LO sandbox ({sandbox.settings.profile} profile) at {sandbox.url}",
        f"  ATLASSIAN_AUTH_URL={sandbox.url}",
        f"  ATLASSIAN_API_URL={sandbox.url}",
    ]
    if own:
        lines += [
            "Registered the kit's own sandbox app:",
            f"  ATLASSIAN_CLIENT_ID={SANDBOX_CLIENT_ID}",
            f"  ATLASSIAN_CLIENT_SECRET={SANDBOX_CLIENT_SECRET}",
            f"  ATLASSIAN_REDIRECT_URI={SANDBOX_REDIRECT_URI}",
        ]
    else:
        lines.append(
            f"Registered app {app.client_id} with callback {app.redirect_uris[0]}"
        )
    if sandbox.host not in ("127.0.0.1", "::1", "localhost"):
        lines.append(
            "Listening beyond this machine: plain HTTP, sandbox data only; "
            "never use real credentials here."
        )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
