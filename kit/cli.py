"""`python -m kit`: the whole flow from a terminal, for exploratory calls.

`login` runs authorize, consent, callback and exchange, and saves the tokens;
`token` shows them masked with their clocks; `call` makes a Confluence call with
the saved token, refreshing when due; `doctor` explains the last failure. The
options are a contract with people's scripts: keep them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import webbrowser
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TextIO

from kit import config as settings
from kit.authorize import new_authorization_request
from kit.callback import CallbackCatcher
from kit.confluence import Confluence, accessible_resources, pick_site
from kit.errors import ConfigError, KitError, TokenStoreError
from kit.exchange import exchange_code
from kit.scopes import EVERYDAY_SCOPES
from kit.store import DEFAULT_PATH, TokenStore

LAST_FAILURE = "last-failure.json"  # beside the token file; masked, no secrets
DEFAULT_LOGIN_TIMEOUT = 300.0


def build_parser() -> argparse.ArgumentParser:
    """The command line; its commands and options are a contract."""
    parser = argparse.ArgumentParser(
        prog="python -m kit",
        description="Atlassian 3LO from a terminal: sign in, show the token, "
        "call Confluence, explain failures.",
    )
    parser.add_argument(
        "--store",
        default=str(DEFAULT_PATH),
        help=f"the token file (default {DEFAULT_PATH})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    login = commands.add_parser("login", help="run the whole flow and save tokens")
    login.add_argument(
        "--no-browser",
        action="store_true",
        help="print the authorization URL alone on one line instead of opening it",
    )
    login.add_argument(
        "--scope",
        action="append",
        help="a scope to ask for (repeat, or space-separate); default: the course's",
    )
    login.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_LOGIN_TIMEOUT,
        help="seconds to wait for the callback (default 300)",
    )

    commands.add_parser("token", help="show the saved token, masked, and its clocks")

    call = commands.add_parser("call", help="call Confluence with the saved token")
    call.add_argument("api", choices=("v1", "v2"))
    call.add_argument("path", help="for example `pages`, `spaces/123`, `search`")
    call.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a query parameter (repeat for more)",
    )
    call.add_argument("--site", help="the site's name when the token reaches several")
    call.add_argument(
        "--no-preflight",
        action="store_true",
        help="send the call even when the token's scopes cannot reach it",
    )

    commands.add_parser("doctor", help="explain the last failure")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 1 on a kit error, 2 on bad usage."""
    args = build_parser().parse_args(argv)
    store = TokenStore(args.store)
    handlers = {"login": _login, "token": _token, "call": _call, "doctor": _doctor}
    try:
        handlers[args.command](args, store)
    except KitError as exc:
        _save_failure(store, args.command, exc)
        print(f"error: {exc}", file=sys.stderr)
        if args.command != "doctor":
            print(
                "Run `python -m kit doctor` for the cause and the fix.", file=sys.stderr
            )
        return 1
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    return 0


# The commands ----------------------------------------------------------------------


def _login(args: argparse.Namespace, store: TokenStore) -> None:
    config = settings.load()
    scopes = _scopes(args.scope)
    request = new_authorization_request(
        config.client_id,
        config.redirect_uri,
        scopes,
        auth_url=config.hosts.auth_url,
        allow_plain_http=config.is_sandbox,
    )
    with CallbackCatcher(
        config.redirect_uri, request.state, timeout=args.timeout
    ) as catcher:
        _show_url(request.url, open_browser=not args.no_browser)
        _note(f"Waiting up to {args.timeout:g} s for the callback at {catcher.url}.")
        result = catcher.wait(args.timeout + 1)
    _note("Callback caught; exchanging the code.")
    tokens = exchange_code(config, result, request=request)
    store.save(tokens)
    _note(f"Signed in ({config.mode} mode): {tokens.describe()}.")
    _note(f"Saved to {store.path}.")
    for site in accessible_resources(config, tokens):
        products = ", ".join(site.products) or "no product"
        _note(f"Reaches {site.name} ({site.url}, {products}): cloud id {site.cloud_id}")


def _token(args: argparse.Namespace, store: TokenStore) -> None:
    stored = store.load()
    if stored is None:
        raise TokenStoreError(_no_tokens(store))
    tokens = stored.tokens
    print(tokens.describe())
    print(tokens.clock().sentence())
    if stored.lineage is None:
        print("No refresh token: the grant had no `offline_access`.")
        return
    print(f"Refresh-token family: {' -> '.join(stored.lineage.chain)}")
    for sentence in stored.lineage.policy().sentences():
        print(sentence)


def _call(args: argparse.Namespace, store: TokenStore) -> None:
    config = settings.load()
    if store.load() is None:
        raise TokenStoreError(_no_tokens(store))
    site = pick_site(accessible_resources(config, store), name=args.site)
    params = _params(args.param)
    with Confluence(
        config, store, site.cloud_id, preflight=not args.no_preflight
    ) as confluence:
        body = confluence.get(args.api, args.path, params)
    json.dump(body, sys.stdout, indent=2, ensure_ascii=False)
    print()


def _doctor(args: argparse.Namespace, store: TokenStore) -> None:
    path = store.path.with_name(LAST_FAILURE)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print("No failure recorded: the last command of `python -m kit` worked.")
        return
    except ValueError:
        print(f"{path} is not readable; delete it.", file=sys.stderr)
        return
    _print_failure(saved, sys.stdout)


# Pieces ------------------------------------------------------------------------


def _scopes(given: list[str] | None) -> tuple[str, ...]:
    if not given:
        return EVERYDAY_SCOPES
    names = [name for item in given for name in item.split()]
    return tuple(dict.fromkeys(names))


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise ConfigError(
                f"`--param {pair}` is not `name=value`. Write it as "
                "`--param limit=5`, one `--param` per parameter."
            )
        params[name] = value
    return params


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("give between 1 and 3600 seconds")
    return value


def _show_url(url: str, *, open_browser: bool) -> None:
    if not open_browser:
        print(url, flush=True)  # alone on one line, for scripts (the contract)
        return
    _note("Opening the consent page in your browser. If it does not open, go to:")
    print(url, flush=True)
    webbrowser.open(url)


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _no_tokens(store: TokenStore) -> str:
    return f"There is no token file at {store.path}. Run `python -m kit login` first."


def _save_failure(store: TokenStore, command: str, exc: KitError) -> None:
    """Keep the failure's diagnosis, masked, for `python -m kit doctor`."""
    from kit.doctor import diagnose  # noqa: PLC0415 - only on failure

    record: dict[str, Any] = {
        "at": time.time(),
        "command": command,
        "error": type(exc).__name__,
        "diagnosis": asdict(diagnose(exc)),
        "exchange": None if exc.exchange is None else exc.exchange.to_dict(),
    }
    path = store.path.with_name(LAST_FAILURE)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(record, file, indent=2)
    except OSError as error:
        _note(f"(Could not keep the failure for the doctor: {error.strerror}.)")


def _print_failure(saved: dict[str, Any], out: TextIO) -> None:
    from kit.doctor import Diagnosis  # noqa: PLC0415
    from kit.record import Exchange  # noqa: PLC0415

    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(saved.get("at", 0)))
    print(f"`python -m kit {saved.get('command')}` failed at {at}:", file=out)
    print(str(Diagnosis(**saved["diagnosis"])), file=out)
    if saved.get("exchange"):
        exchange = Exchange.from_dict(saved["exchange"])
        print("\nThe exchange, as recorded (secrets masked):\n", file=out)
        print(exchange.raw(), file=out)
        print("The same request as curl:\n", file=out)
        print(exchange.to_curl(), file=out)
