"""kit.hub: telling a hub from your own machine, the server's public address, and
the shape of the redirect URI that jupyter-server-proxy serves.
"""

from __future__ import annotations

import pytest

import kit.hub
from kit.errors import ConfigError
from kit.hub import (
    Hub,
    detect,
    proxy_installed,
    proxy_route,
    public_url,
    same_base,
)

ADA = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}


def test_your_own_machine_is_no_hub() -> None:
    assert detect({}) is None
    assert detect({"JUPYTERHUB_SERVICE_PREFIX": "  "}) is None


def test_jupyterhub_is_told_by_its_service_prefix() -> None:
    hub = detect({**ADA, "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/"})

    assert hub == Hub(
        "JupyterHub", "/user/ada/", "https://hub.example.org/user/ada/", True
    )


@pytest.mark.parametrize("variable", ["BINDER_LAUNCH_HOST", "BINDER_REF_URL"])
def test_binder_is_told_by_its_own_variables(variable: str) -> None:
    environ = {"JUPYTERHUB_SERVICE_PREFIX": "/user/org-repo-x1/", variable: "x"}

    hub = detect(environ, proxy_available=False)

    assert hub is not None
    assert hub.kind == "Binder"
    assert hub.public_url is None
    assert not hub.proxy_available


def test_kit_public_url_alone_names_a_remote_server() -> None:
    hub = detect({"KIT_PUBLIC_URL": "https://lab.example.org/jupyter/lab/tree/x"})

    assert hub is not None
    assert hub.kind == "remote server"
    assert hub.public_url == "https://lab.example.org/jupyter/"
    assert hub.prefix == "/jupyter/"


def test_kit_public_url_wins_and_a_whole_address_bar_is_cut_after_the_prefix() -> None:
    environ = {
        **ADA,
        "KIT_PUBLIC_URL": "https://Hub.example.org/user/ada/lab/tree/03.ipynb",
        "JUPYTERHUB_PUBLIC_URL": "https://other.example.org/",
    }

    assert public_url(environ) == "https://Hub.example.org/user/ada/"


def test_kit_public_url_without_a_path_gets_the_prefix() -> None:
    environ = {**ADA, "KIT_PUBLIC_URL": "https://hub.example.org"}

    assert public_url(environ) == "https://hub.example.org/user/ada/"


def test_jupyterhub_public_url_gives_its_origin_and_the_prefix() -> None:
    environ = {**ADA, "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/user/ada/"}

    assert public_url(environ) == "https://hub.example.org/user/ada/"


def test_jupyterhub_host_is_the_last_resort_and_may_lack_a_scheme() -> None:
    assert public_url({**ADA, "JUPYTERHUB_HOST": "hub.example.org"}) == (
        "https://hub.example.org/user/ada/"
    )
    assert public_url({**ADA, "JUPYTERHUB_HOST": ""}) is None
    assert public_url({"JUPYTERHUB_HOST": "https://hub.example.org"}) is None


@pytest.mark.parametrize(
    "value", ["hub.example.org/user/ada/", "ftp://hub.example.org/", "https://a@b/"]
)
def test_a_kit_public_url_that_is_no_web_address_says_what_to_set(value: str) -> None:
    with pytest.raises(ConfigError, match=r"`KIT_PUBLIC_URL`.*address bar.*/user/ada/"):
        detect({**ADA, "KIT_PUBLIC_URL": value})


def test_the_callback_uri_goes_through_the_proxy_at_the_public_url() -> None:
    hub = Hub("JupyterHub", "/user/ada/", "https://hub.example.org/user/ada/", True)

    assert hub.callback_uri() == "https://hub.example.org/user/ada/proxy/8765/callback"
    assert hub.callback_uri(9000, "cb") == (
        "https://hub.example.org/user/ada/proxy/9000/cb"
    )
    assert hub.proxied("http://localhost:8765/callback") == hub.callback_uri()


def test_without_a_public_url_there_is_no_callback_uri_to_name() -> None:
    hub = Hub("Binder", "/user/x/", None, True)

    assert hub.callback_uri() is None
    assert hub.proxied("http://127.0.0.1:8765/callback") is None


def test_a_proxied_uri_splits_into_its_base_port_and_path() -> None:
    route = proxy_route("https://Hub.example.org/user/ada/proxy/8765/callback")

    assert route is not None
    assert route.base == "https://Hub.example.org/user/ada/"
    assert (route.port, route.path) == (8765, "/callback")
    assert route.loopback_uri == "http://127.0.0.1:8765/callback"
    assert route.host_names == {"hub.example.org", "hub.example.org:443"}
    assert route.with_port(9000).uri == (
        "https://Hub.example.org/user/ada/proxy/9000/callback"
    )


def test_a_proxied_uri_on_another_port_names_that_port_in_its_host() -> None:
    route = proxy_route("http://127.0.0.1:8888/proxy/8765/a/b")

    assert route is not None
    assert route.base == "http://127.0.0.1:8888/"
    assert route.path == "/a/b"
    assert route.host_names == {"127.0.0.1:8888"}


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8765/callback",
        "https://hub.example.org/user/ada/proxy/8765",
        "https://hub.example.org/user/ada/proxy/absolute/8765/callback",
        "https://hub.example.org/user/ada/proxy/localhost:8765/callback",
        "https://hub.example.org/user/ada/proxy/99999/callback",
        "https://hub.example.org/user/ada/proxy/08765/callback",
        "https://hub.example.org/user/ada/proxy/8765/callback?next=/",
        "https://hub.example.org/user/ada/proxy/8765/callback#top",
        "https://ada@hub.example.org/user/ada/proxy/8765/callback",
        "ftp://hub.example.org/proxy/8765/callback",
        "https://hub.example.org:bad/proxy/8765/callback",
    ],
)
def test_anything_else_is_no_proxied_uri(uri: str) -> None:
    assert proxy_route(uri) is None


def test_the_proxy_counts_as_installed_only_when_it_imports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert proxy_installed()  # a runtime dependency of the kit

    monkeypatch.setattr(kit.hub, "PROXY_MODULE", "a_module_that_is_not_there")

    assert not proxy_installed()
    assert detect(ADA) == Hub("JupyterHub", "/user/ada/", None, False)


def test_two_bases_are_the_same_server_whatever_the_case_of_host_and_scheme() -> None:
    assert same_base(
        "https://Hub.example.org/user/ada/", "HTTPS://hub.example.org:443/user/ada"
    )
    assert not same_base(
        "https://hub.example.org/user/ada/", "https://hub.example.org/user/bob/"
    )
    assert not same_base(
        "https://hub.example.org/user/ada/", "http://hub.example.org/user/ada/"
    )
    assert not same_base("https://hub.example.org/", "not a url")
