"""The one running scenario: the fictional app, its user and the user's two sites.

The same names appear in `.env.example`, the notebooks and the Confluence content, so
that a learner meets one consistent story. Nothing here is real: the sites and people
are invented, and the cloud ids are fixed UUIDs made up for the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Scopes that belong to the User Identity API and to the platform, not a product.
IDENTITY_SCOPES = frozenset({"read:me", "read:account"})
OFFLINE_ACCESS = "offline_access"


@dataclass(frozen=True)
class User:
    """The Atlassian account that consents in the sandbox."""

    account_id: str
    name: str
    nickname: str
    email: str
    locale: str
    zoneinfo: str
    job_title: str
    department: str
    organization: str
    location: str


@dataclass(frozen=True)
class Site:
    """A cloud site: its cloud id, its URL and the products installed on it."""

    cloud_id: str
    name: str
    url: str
    avatar_url: str
    products: tuple[str, ...]


@dataclass(frozen=True)
class App:
    """A 3LO app as registered in the developer console."""

    client_id: str
    client_secret: str = field(repr=False)  # maybe a real app's, from --client-secret
    name: str
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    grant_type: str = "account"  # "account" or "resource" level (facts 1.5)
    apis: tuple[str, ...] = field(default=("Confluence API", "User Identity API"))


USER = User(
    account_id="712020:5c1f3a2e-8d47-4b0e-9a51-3e6f2b7c9d10",
    name="Ada Okafor",
    nickname="ada",
    email="ada.okafor@pinecone-labs.example",
    locale="en-GB",
    zoneinfo="Europe/London",
    job_title="Developer advocate",
    department="Developer Experience",
    organization="Pinecone Labs",
    location="Leeds",
)

PINECONE = Site(
    cloud_id="3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73",
    name="pinecone-labs",
    url="https://pinecone-labs.atlassian.net",
    avatar_url=(
        "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"
    ),
    products=("confluence", "jira"),
)

ARCHIVE = Site(
    cloud_id="a61d0e47-2b8c-4f35-8e9a-70c4d2b15e08",
    name="pinecone-archive",
    url="https://pinecone-archive.atlassian.net",
    avatar_url=(
        "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/lightbulb.png"
    ),
    products=("confluence",),
)

SITES: tuple[Site, ...] = (PINECONE, ARCHIVE)

# The kit's own sandbox app. Its secret is not a secret anywhere but here: the
# sandbox only ever runs on this machine, and live mode takes credentials from `.env`.
SANDBOX_CLIENT_ID = "pinecone-reader-sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-secret-not-for-production"  # noqa: S105
SANDBOX_REDIRECT_URI = "http://127.0.0.1:8765/callback"

# Every scope the kit's app is configured with in the "developer console": classic
# and granular Confluence scopes, the User Identity API, and one Jira scope so that
# accessible-resources can show Jira and Confluence sharing one cloud id.
SANDBOX_APP_SCOPES = frozenset(
    {
        "read:confluence-content.all",
        "read:confluence-content.summary",
        "read:confluence-space.summary",
        "read:confluence-user",
        "search:confluence",
        "write:confluence-content",
        "read:page:confluence",
        "read:space:confluence",
        "read:content-details:confluence",
        "read:content:confluence",
        "read:space-details:confluence",
        "read:user:confluence",
        "read:comment:confluence",
        "read:label:confluence",
        "read:attachment:confluence",
        "read:blogpost:confluence",
        "write:page:confluence",
        "read:me",
        "read:account",
        "read:jira-work",
        "read:jira-user",
    }
)


def sandbox_app(redirect_uri: str = SANDBOX_REDIRECT_URI) -> App:
    """The kit's pre-registered app, with the callback URL it expects."""
    return App(
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        name="Pinecone Reader (sandbox)",
        redirect_uris=(redirect_uri,),
        scopes=SANDBOX_APP_SCOPES,
        apis=("Confluence API", "Jira API", "User Identity API"),
    )


def product_of_scope(scope: str) -> str | None:
    """Which product a scope belongs to: `confluence`, `jira`, or None for others."""
    if scope in IDENTITY_SCOPES or scope == OFFLINE_ACCESS:
        return None
    if scope.endswith(":confluence") or "confluence" in scope:
        return "confluence"
    if scope.endswith(":jira") or "jira" in scope:
        return "jira"
    return None
