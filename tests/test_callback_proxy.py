"""The catcher behind jupyter-server-proxy: a redirect URI `<base>/proxy/<port>/<path>`
is caught on that port of 127.0.0.1, with the public URI's `Host` and no other.

`through_the_proxy` does what jupyter-server-proxy does with a browser's request:
it sends it to `127.0.0.1:<port>/<path>` with the browser's `Host` header.
tests/browser/test_hub_proxy.py does the same through a real JupyterLab.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from sandbox_driver import Flow

from kit.callback import CallbackCatcher
from kit.errors import ConfigError, MalformedCallbackError
from kit.hub import proxy_route
from kit.sandbox import App

PUBLIC = "https://hub.example.org/user/ada/proxy/{port}/callback"
AUTHORIZATION_URL = "https://auth.example.org/authorize?client_id=x&state=s"


@pytest.fixture
def state() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def catcher(state: str) -> Iterator[CallbackCatcher]:
    with CallbackCatcher(
        PUBLIC.format(port=0),
        state,
        timeout=10,
        read_timeout=0.5,
        authorization_url=AUTHORIZATION_URL,
    ) as running:
        yield running


def through_the_proxy(
    url: str, host: str | None = None, **params: str
) -> requests.Response:
    """GET a public proxied URL as jupyter-server-proxy forwards it to the kernel."""
    target, _, query = url.partition("?")
    route = proxy_route(target)
    assert route is not None, f"{target} is not a proxied URL"
    headers = {"Host": host or urlsplit(target).netloc}
    loopback = route.loopback_uri + (f"?{query}" if query else "")
    return requests.get(
        loopback, params=params, headers=headers, allow_redirects=False, timeout=2
    )


def test_a_proxied_redirect_uri_is_caught_on_its_port_of_127_0_0_1_at_its_path(
    catcher: CallbackCatcher,
) -> None:
    port = catcher.port

    assert catcher.addresses == [("127.0.0.1", port)]
    assert catcher.path == "/callback"
    assert catcher.url == PUBLIC.format(port=port)
    assert catcher.loopback_url == f"http://127.0.0.1:{port}/callback"
    assert catcher.start_url == f"https://hub.example.org/user/ada/proxy/{port}/start"


def test_the_public_host_is_accepted_and_the_result_names_the_public_uri(
    catcher: CallbackCatcher, state: str
) -> None:
    answer = through_the_proxy(catcher.url, code="the-code", state=state)

    assert answer.status_code == 200
    result = catcher.wait(1)
    assert result.code == "the-code"
    assert result.redirect_uri == catcher.url


@pytest.mark.parametrize(
    "host",
    [
        "hub.example.org:443",
        "HUB.example.org",
    ],
)
def test_the_public_host_is_accepted_in_any_case_and_with_its_default_port(
    catcher: CallbackCatcher, state: str, host: str
) -> None:
    answer = through_the_proxy(catcher.url, host, code="the-code", state=state)

    assert answer.status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "hub.example.org:8443",
        "hub.example.org.evil.example",
        "other.example.org",
    ],
)
def test_any_other_host_is_refused_behind_the_proxy_too(
    catcher: CallbackCatcher, state: str, host: str
) -> None:
    answer = through_the_proxy(catcher.url, host, code="the-code", state=state)

    assert answer.status_code == 400
    assert "hub.example.org" in answer.text
    assert catcher.poll() is None  # still waiting, for the real one


def test_the_kernel_still_reaches_the_catcher_on_the_loopback_address(
    catcher: CallbackCatcher, state: str
) -> None:
    answer = requests.get(
        catcher.loopback_url, params={"code": "c", "state": state}, timeout=2
    )

    assert answer.status_code == 200
    assert catcher.wait(1).redirect_uri == catcher.url


def test_a_wrong_state_through_the_proxy_is_turned_away_as_ever(
    catcher: CallbackCatcher, state: str
) -> None:
    forged = through_the_proxy(catcher.url, code="attacker", state="not-" + state)

    assert forged.status_code == 400
    assert catcher.status.rejected == 1
    assert catcher.poll() is None


def test_start_through_the_proxy_leads_to_the_fixed_authorization_url_only(
    catcher: CallbackCatcher,
) -> None:
    start = catcher.start_url
    assert start is not None

    answer = through_the_proxy(start + "?next=https://evil.example/")

    assert answer.status_code == 302
    assert answer.headers["location"] == AUTHORIZATION_URL


def test_a_pasted_public_address_is_taken_and_the_loopback_one_is_not(
    catcher: CallbackCatcher, state: str
) -> None:
    with pytest.raises(MalformedCallbackError, match="not the redirect URI"):
        catcher.submit_redirected_url(f"{catcher.loopback_url}?code=c&state={state}")

    pasted = catcher.submit_redirected_url(f"{catcher.url}?code=c&state={state}")

    assert pasted.via == "paste"
    assert pasted.redirect_uri == catcher.url


def test_a_proxied_uri_on_plain_http_of_a_server_on_this_machine_works(
    state: str,
) -> None:
    lab = socket.socket()
    lab.bind(("127.0.0.1", 0))  # the port JupyterLab itself would hold
    lab.listen()
    lab_port = lab.getsockname()[1]
    public = f"http://127.0.0.1:{lab_port}/user/ada/proxy/0/callback"

    with lab, CallbackCatcher(public, state, timeout=5) as catcher:
        answer = through_the_proxy(catcher.url, code="c", state=state)

        assert catcher.port != lab_port
        assert answer.status_code == 200
        assert catcher.wait(1).redirect_uri == catcher.url


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://hub.example.org/user/ada/callback",
        "https://hub.example.org/user/ada/proxy/absolute/8765/callback",
        "https://hub.example.org/user/ada/proxy/8765/callback?next=/",
    ],
)
def test_any_other_remote_redirect_uri_is_refused_naming_the_proxy_and_the_paste(
    redirect_uri: str, state: str
) -> None:
    with pytest.raises(
        ConfigError, match=r"/proxy/8765/callback.*setup check.*parse_redirected_url"
    ):
        CallbackCatcher(redirect_uri, state, timeout=1)


def test_sandbox_consent_through_the_proxy_gives_a_code_bound_to_the_public_uri(
    flow: Flow, state: str
) -> None:
    with CallbackCatcher(PUBLIC.format(port=0), state, timeout=10) as catcher:
        app = App(
            client_id="hub-tests",
            client_secret="hub-tests-secret",
            name="Hub tests",
            redirect_uris=(catcher.url,),
            scopes=frozenset({"read:me"}),
        )
        flow.sandbox.register_app(app)

        # the browser: authorize, Accept, and land on the public URL
        page = flow.authorize(
            client_id=app.client_id,
            redirect_uri=catcher.url,
            scope="read:me",
            state=state,
        )
        redirect = flow.consent(page)
        landed = through_the_proxy(redirect.headers["location"])
        result = catcher.wait(2)

    # the client: the code, with the public redirect URI it is bound to
    tokens = flow.exchange(
        result.code,
        client_id=app.client_id,
        client_secret=app.client_secret,
        redirect_uri=result.redirect_uri,
    )

    assert landed.status_code == 200
    assert result.redirect_uri == catcher.url
    assert tokens.status_code == 200, tokens.text
