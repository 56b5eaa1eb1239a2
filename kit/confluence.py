"""Steps 6 and 7 of the flow: find the site's cloud id, then call Confluence.

`accessible_resources` lists the sites a token reaches; `pick_site` chooses the
Confluence one (Jira and Confluence on one site share a cloud id, facts 4.1).
`Confluence` calls v1 and v2 through `api.atlassian.com/ex/confluence/{cloud_id}`,
checks the token's scopes before each call, and follows each API's own paging.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from kit import scopes
from kit.api import Answer, ApiCaller, Refresh, TokenSource
from kit.config import ClientConfig
from kit.errors import (
    ApiError,
    CatalogueError,
    ExchangeRefusedError,
    ScopeError,
    hide_in_notebooks,
)
from kit.store import TokenStore
from kit.tokens import TokenSet

logger = logging.getLogger(__name__)

Api = Literal["v1", "v2"]
V1_PREFIX = "/wiki/rest/api"
V2_PREFIX = "/wiki/api/v2"
RESOURCES_PATH = "/oauth/token/accessible-resources"
ME_PATH = "/me"
MAX_PAGES = 100  # a list followed further than this is cut, with a warning


@dataclass(frozen=True)
class Site:
    """One entry of `accessible-resources`: a site and the scopes granted on it.

    `cloud_id` is not unique: Jira and Confluence on one site are two entries
    with the same id, told apart by their scopes (facts 4.1).
    """

    cloud_id: str
    name: str
    url: str
    scopes: tuple[str, ...]
    avatar_url: str = ""

    @property
    def products(self) -> tuple[str, ...]:
        """The products this entry's scopes are for: `confluence`, `jira`, ..."""
        found = {_product_of(scope) for scope in self.scopes}
        return tuple(sorted(p for p in found if p))

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Site:
        """One element of the answer's array; raises `ApiError` if malformed."""
        try:
            return cls(
                cloud_id=str(item["id"]),
                name=str(item["name"]),
                url=str(item["url"]),
                scopes=tuple(str(s) for s in item.get("scopes", ())),
                avatar_url=str(item.get("avatarUrl", "")),
            )
        except (KeyError, TypeError) as exc:
            raise ApiError(
                f"An entry of `accessible-resources` lacks {exc}; the answer is "
                "not what Atlassian documents. Check `ATLASSIAN_API_URL`.",
                status=200,
            ) from None


def _product_of(scope: str) -> str:
    if scope.endswith(":confluence") or "confluence-" in scope:
        return "confluence"
    if ":jira" in scope or "jira-" in scope:
        return "jira"
    return ""


def accessible_resources(
    config: ClientConfig, tokens: TokenSet | TokenStore, **options: Any
) -> list[Site]:
    """The sites the token reaches, from `GET /oauth/token/accessible-resources`."""
    __tracebackhide__ = hide_in_notebooks
    caller = _caller(config, tokens, options)
    try:
        answer = caller.get(config.hosts.api_url + RESOURCES_PATH, step="resources")
    finally:
        caller.close()
    if not isinstance(answer.body, list):
        raise ApiError(
            "`accessible-resources` answered with something other than a JSON "
            "array (facts 4.1). Check `ATLASSIAN_API_URL`.",
            status=200,
            exchange=answer.exchange,
        )
    return [Site.from_json(item) for item in answer.body if isinstance(item, dict)]


def pick_site(
    sites: list[Site], *, product: str = "confluence", name: str | None = None
) -> Site:
    """The site to call: the only entry for `product`, or the one named `name`.

    Raises `ApiError` with the choices when none or several match.
    """
    candidates = [s for s in sites if product in s.products]
    if name is not None:
        wanted = name.lower()
        candidates = [
            s for s in candidates if wanted in {s.name.lower(), _host(s.url).lower()}
        ]
    if len(candidates) == 1:
        return candidates[0]
    listed = ", ".join(f"{s.name} ({_host(s.url)})" for s in sites) or "none"
    problem = "several" if candidates else "no"
    raise ApiError(
        f"The token reaches {problem} {product} sites matching that (all sites: "
        f"{listed}). Pass `name=` with one of them, or consent again and pick "
        f"the site on the consent page.",
        status=None,
    )


def me(config: ClientConfig, tokens: TokenSet | TokenStore, **options: Any) -> Any:
    """The person the token acts for, from `GET /me` (needs `read:me`)."""
    __tracebackhide__ = hide_in_notebooks
    caller = _caller(config, tokens, options)
    try:
        return caller.get(config.hosts.api_url + ME_PATH, step="me").body
    finally:
        caller.close()


@dataclass(frozen=True)
class Page:
    """One page of a list: its results, and the URL of the next page, if any."""

    results: tuple[Any, ...]
    next_url: str | None
    answer: Answer


class Confluence:
    """Confluence v1 and v2 on one site, through the gateway (facts 4.2).

    `tokens` is a `TokenSet`, or a `TokenStore` whose tokens are refreshed
    when due and saved with their rotated refresh token. Before each call the
    token's scopes are checked against the operation's (from Atlassian's
    specs); a call they cannot reach raises `ScopeError` unless `preflight`
    is False, so that you can watch the gateway refuse it.
    """

    def __init__(
        self,
        config: ClientConfig,
        tokens: TokenSet | TokenStore,
        cloud_id: str,
        *,
        refresh: Refresh | None = None,
        preflight: bool = True,
        **options: Any,
    ) -> None:
        if not cloud_id or "/" in cloud_id:
            raise ApiError(
                f"`cloud_id` is {cloud_id!r}. Take the `cloud_id` of a site from "
                "`accessible_resources`.",
                status=None,
            )
        self.config = config
        self.cloud_id = cloud_id
        self.preflight = preflight
        self._source = _source(config, tokens, refresh, options)
        self._caller = ApiCaller(config, self._source, **options)

    @property
    def base_url(self) -> str:
        """`https://api.atlassian.com/ex/confluence/{cloud_id}`, or the sandbox's."""
        return f"{self.config.hosts.api_url}/ex/confluence/{self.cloud_id}"

    @property
    def granted(self) -> tuple[str, ...]:
        """The scopes of the tokens this client sends (refreshed first, when due)."""
        return self._source.current().scope

    def get(self, api: Api, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET one v1 or v2 path (`"pages"`, `"/wiki/api/v2/pages"`); its JSON."""
        __tracebackhide__ = hide_in_notebooks
        return self.get_page(api, path, params).answer.body

    def get_page(
        self, api: Api, path: str, params: Mapping[str, Any] | None = None
    ) -> Page:
        """GET one page of a list, with the URL of the next page."""
        __tracebackhide__ = hide_in_notebooks
        full_path = api_path(api, path)
        self._check_scopes(api, full_path)
        answer = self._caller.get(self.base_url + full_path, params)
        return Page(_results(answer.body), self._next_url(answer), answer)

    def pages_of(
        self,
        api: Api,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        max_pages: int = MAX_PAGES,
    ) -> Iterator[Page]:
        """Every page of a list, following `next` until the server stops giving one.

        v2 names the next page in `_links.next` and the `Link` header; v1 search
        in `_links.next`, relative to `/wiki`, and a short page is not the end
        (facts 6.3, 6.4). A `next` that leaves this site's gateway is refused.
        """
        __tracebackhide__ = hide_in_notebooks
        page = self.get_page(api, path, params)
        yield page
        seen = {page.next_url}
        for _ in range(max_pages - 1):
            if page.next_url is None:
                return
            page = self._follow(api, page.next_url)
            if page.next_url in seen:
                raise ApiError(_loop_message(path), status=None)
            seen.add(page.next_url)
            yield page
        if page.next_url is not None:
            logger.warning("Stopped after %d pages of %s.", max_pages, path)

    def items(
        self,
        api: Api,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[Any]:
        """Every result of a list, page after page; at most `limit` of them."""
        __tracebackhide__ = hide_in_notebooks
        count = 0
        for page in self.pages_of(api, path, params):
            for item in page.results:
                if limit is not None and count >= limit:
                    return
                yield item
                count += 1

    # The course's calls ----------------------------------------------------------

    def search(
        self, cql: str, *, limit: int = 25, max_results: int | None = None
    ) -> Iterator[Any]:
        """v1 `GET /wiki/rest/api/search`: content matching a CQL query.

        `limit` is the page size, as in the API; `max_results` stops early.
        """
        params = {"cql": cql, "limit": limit}
        return self.items("v1", "search", params, limit=max_results)

    def current_user(self) -> Any:
        """v1 `GET /wiki/rest/api/user/current`: the person the token acts for."""
        return self.get("v1", "user/current")

    def spaces(self, *, max_results: int | None = None, **params: Any) -> Iterator[Any]:
        """v2 `GET /wiki/api/v2/spaces`, page after page (`limit` is the page size)."""
        return self.items("v2", "spaces", _v2_params(params), limit=max_results)

    def space(self, space_id: str) -> Any:
        """v2 `GET /wiki/api/v2/spaces/{id}`."""
        return self.get("v2", f"spaces/{space_id}")

    def space_pages(
        self, space_id: str, *, max_results: int | None = None, **params: Any
    ) -> Iterator[Any]:
        """v2 `GET /wiki/api/v2/spaces/{id}/pages`, page after page."""
        path = f"spaces/{space_id}/pages"
        return self.items("v2", path, _v2_params(params), limit=max_results)

    def pages(self, *, max_results: int | None = None, **params: Any) -> Iterator[Any]:
        """v2 `GET /wiki/api/v2/pages`, page after page (`space_id=` filters)."""
        return self.items("v2", "pages", _v2_params(params), limit=max_results)

    def page(self, page_id: str, *, body_format: str = "storage") -> Any:
        """v2 `GET /wiki/api/v2/pages/{id}` with its body (`storage` by default)."""
        return self.get("v2", f"pages/{page_id}", {"body-format": body_format})

    def close(self) -> None:
        self._caller.close()

    def __enter__(self) -> Confluence:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Confluence(cloud_id={self.cloud_id!r}, base_url={self.base_url!r})"

    # Inside ----------------------------------------------------------------------

    def _check_scopes(self, api: Api, full_path: str) -> None:
        __tracebackhide__ = hide_in_notebooks
        if not self.preflight:
            return
        try:
            operation = scopes.find_operation((api, "GET", full_path))
        except CatalogueError:
            logger.debug("No catalogue entry for %s; no preflight.", full_path)
            return
        granted = self.granted
        if not operation.scope_sets or scopes.can_reach(granted, operation):
            return
        raise ScopeError(
            _preflight_message(operation, granted),
            status=None,
            operation=operation.key,
            accepted=operation.scope_sets,
            granted=granted,
        )

    def _next_url(self, answer: Answer) -> str | None:
        body = answer.body
        links = body.get("_links", {}) if isinstance(body, dict) else {}
        relative = links.get("next") if isinstance(links, dict) else None
        if not isinstance(relative, str) or not relative:
            relative = _link_header_next(answer.headers.get("link", ""))
        if relative is None:
            return None
        return self._resolve(relative)

    def _resolve(self, link: str) -> str:
        """A `next` link made absolute on the gateway, never on another host."""
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:
            if not link.startswith(self.base_url + "/"):
                raise ExchangeRefusedError(_foreign_next(link))
            return link
        if link.startswith("/wiki/"):  # v2: site-relative, `/wiki` included
            return self.base_url + link
        return self.base_url + "/wiki" + link  # v1: relative to `/wiki` (facts 6.2)

    def _follow(self, api: Api, url: str) -> Page:
        path = urlsplit(url).path[len(urlsplit(self.base_url).path) :]
        self._check_scopes(api, path)
        answer = self._caller.get(url)
        return Page(_results(answer.body), self._next_url(answer), answer)


def api_path(api: Api, path: str) -> str:
    """The full path of `path` under one API: `pages` → `/wiki/api/v2/pages`.

    Accepts the short form, the form after the API's prefix with a leading
    slash, a v1 path without `/wiki` (as the gateway allows, facts 4.2), or
    the full path. A query string belongs in `params`, not here.
    """
    if api not in {"v1", "v2"}:
        raise ApiError(f"`api` is {api!r}; use `v1` or `v2`.", status=None)
    if "?" in path or "#" in path:
        raise ApiError(
            f"`path` {path!r} holds a query; pass the parameters as `params`.",
            status=None,
        )
    prefix = V1_PREFIX if api == "v1" else V2_PREFIX
    cleaned = "/" + path.strip().lstrip("/")
    if cleaned.startswith(prefix + "/") or cleaned == prefix:
        return cleaned
    if api == "v1" and cleaned.startswith("/rest/api/"):
        return "/wiki" + cleaned
    return prefix + cleaned


def _source(
    config: ClientConfig,
    tokens: TokenSet | TokenStore,
    refresh: Refresh | None,
    options: Mapping[str, Any],
) -> TokenSource:
    """Where the tokens come from; a store refreshes through the same history."""
    if refresh is None and isinstance(tokens, TokenStore):
        from kit.exchange import refresher  # noqa: PLC0415 - only for stores

        shared = {k: options[k] for k in ("history", "timeout") if k in options}
        refresh = refresher(config, **shared)
    return TokenSource(tokens, refresh)


def _caller(
    config: ClientConfig, tokens: TokenSet | TokenStore, options: dict[str, Any]
) -> ApiCaller:
    refresh = options.pop("refresh", None)
    return ApiCaller(config, _source(config, tokens, refresh, options), **options)


def _results(body: Any) -> tuple[Any, ...]:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return tuple(body["results"])
    return ()


def _v2_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Python names to v2's: `space_id=` → `space-id=`, `body_format=` → ..."""
    return {name.replace("_", "-"): value for name, value in params.items()}


def _link_header_next(header: str) -> str | None:
    for part in header.split(","):
        target, _, rest = part.partition(";")
        if 'rel="next"' in rest.replace(" ", ""):
            return target.strip().strip("<>") or None
    return None


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _preflight_message(operation: scopes.Operation, granted: tuple[str, ...]) -> str:
    needed = " or ".join(
        " + ".join(f"`{s}`" for s in group) for group in operation.scope_sets
    )
    held = " ".join(f"`{s}`" for s in granted) or "no scopes"
    return (
        f"The token cannot call {operation.key}: it needs {needed}, and holds "
        f'{held}. The gateway would answer 401 "Unauthorized; scope does not '
        f'match" (facts 5.4). Authorize again with the missing scope, or pass '
        f"`preflight=False` to send the call anyway and see that answer."
    )


def _foreign_next(link: str) -> str:
    return (
        f"The answer's `next` link points at {_host(link)}, outside this site's "
        "gateway; the kit will not send the token there. Follow it by hand if "
        "you trust it."
    )


def _loop_message(path: str) -> str:
    return (
        f"The pages of {path} loop: a `next` link came back twice. The kit "
        "stopped; fetch the pages one by one with `get_page`."
    )
