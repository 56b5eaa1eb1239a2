"""The Engineering Handbook's service pages: overview, deploy guide, config table.

Pinecone Labs runs eight services behind its warehouse robots. Each one gets the
same three pages, written from its own facts, so the handbook has a realistic
amount of near-uniform documentation to page through and search.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.sandbox.confluence.drafts import PageDraft, page


@dataclass(frozen=True)
class Service:
    """What the handbook knows about one service."""

    name: str  # the repository and deployment name, e.g. telemetry-ingest
    noun: str  # how people say it, e.g. telemetry
    language: str
    purpose: str
    port: int
    owner: str  # the team
    author: str  # the page author's nickname
    depends: tuple[str, ...]
    slo: str
    deploy_note: str
    settings: tuple[tuple[str, str, str], ...]  # name, default, meaning
    labels: tuple[str, ...] = ()


SERVICES = (
    Service(
        "telemetry-ingest",
        "telemetry",
        "Rust",
        "receives the 5 Hz status stream of every Scout robot (battery, pose, "
        "motor temperatures) from the edge gateways and writes it to the "
        "time-series store",
        7400,
        "Fleet Data",
        "tomasz",
        ("edge-gateway", "Kafka topic `scout.status`"),
        "99.5% of status frames queryable within 10 seconds",
        "Ingest lag climbs for about two minutes while partitions rebalance; "
        "do not roll back for that alone.",
        (
            ("INGEST_BATCH_SIZE", "500", "frames per write to the time-series store"),
            ("INGEST_MAX_LAG_SECONDS", "30", "lag at which the readiness probe fails"),
            (
                "KAFKA_GROUP",
                "telemetry-ingest",
                "consumer group; change only in a migration",
            ),
        ),
        ("telemetry", "deploy"),
    ),
    Service(
        "fleet-manager",
        "fleet manager",
        "Python (FastAPI)",
        "keeps the registry of robots, their assigned warehouse and their "
        "maintenance state, and answers the operator console",
        8080,
        "Fleet Software",
        "priya",
        ("Postgres `fleet-db`", "auth-proxy"),
        "99.9% of console requests under 300 ms",
        "Schema migrations run as a pre-deploy job; a failed migration stops "
        "the rollout before any pod is replaced.",
        (
            ("FLEET_DB_URL", "(from Vault)", "Postgres connection string"),
            (
                "ROBOT_HEARTBEAT_TIMEOUT",
                "45s",
                "silence before a robot shows as offline",
            ),
            ("CONSOLE_PAGE_SIZE", "50", "robots per page in the operator console"),
        ),
        ("fleet",),
    ),
    Service(
        "mission-planner",
        "mission planner",
        "Python",
        "turns a stock-count order into missions, one per robot, and re-plans "
        "when an aisle is blocked",
        8081,
        "Autonomy",
        "mei",
        ("map-server", "fleet-manager"),
        "a plan for 200 shelves in under 4 seconds at the 95th percentile",
        "Planner workers drain their queue before they stop; a deploy during "
        "a shift change can take ten minutes.",
        (
            ("PLANNER_WORKERS", "8", "planning processes per pod"),
            ("MAX_MISSION_MINUTES", "40", "longest mission before it is split"),
            ("REPLAN_ON_BLOCK", "true", "re-plan when a robot reports a blocked aisle"),
        ),
        ("autonomy",),
    ),
    Service(
        "map-server",
        "map server",
        "Go",
        "serves the vector maps of each warehouse (shelves, aisles, charging "
        "docks) as tiles to robots and to the planner",
        8090,
        "Autonomy",
        "mei",
        ("object storage bucket `pl-maps`",),
        "tile requests answered in under 50 ms at the 99th percentile",
        "The tile cache is warmed from object storage at start; expect cold "
        "reads for the first minute after a deploy.",
        (
            ("TILE_CACHE_MB", "2048", "in-memory tile cache per pod"),
            ("MAP_BUCKET", "pl-maps", "where published maps live"),
            ("MAP_REFRESH", "5m", "how often new map versions are picked up"),
        ),
        ("maps", "autonomy"),
    ),
    Service(
        "ota-updater",
        "OTA updater",
        "Go",
        "stages firmware and software bundles and rolls them out to robots in "
        "waves, never more than one robot per charging dock at a time",
        8100,
        "Firmware",
        "jonas",
        ("fleet-manager", "bundle bucket `pl-ota`"),
        "no robot left in a half-updated state for more than 15 minutes",
        "Pause any running rollout with `shipit ota pause` before deploying "
        "the updater itself.",
        (
            ("WAVE_SIZE_PERCENT", "5", "share of a warehouse's robots per wave"),
            ("WAVE_SOAK_MINUTES", "30", "wait between waves"),
            ("REQUIRE_DOCKED", "true", "only update robots that sit on a dock"),
        ),
        ("firmware", "deploy"),
    ),
    Service(
        "lidar-ingest",
        "lidar ingest",
        "Rust",
        "collects the compressed point clouds robots upload after each "
        "mission and indexes them for the perception team",
        7410,
        "Perception",
        "mei",
        ("object storage bucket `pl-scans`",),
        "uploads indexed within 30 minutes of arrival",
        "Uploads are retried by the robots, so a short outage loses no data; "
        "prefer a clean restart to a hot fix.",
        (
            ("SCAN_BUCKET", "pl-scans", "where point clouds are written"),
            ("MAX_UPLOAD_MB", "900", "largest accepted upload"),
            ("INDEX_THREADS", "4", "parallel indexers per pod"),
        ),
        ("perception",),
    ),
    Service(
        "auth-proxy",
        "auth proxy",
        "Go",
        "checks staff single sign-on and robot client certificates in front "
        "of every internal API",
        8443,
        "Platform",
        "samira",
        ("identity provider", "internal CA"),
        "99.95% availability; it is on every request path",
        "Deploy one region at a time and watch the 401 rate; a bad config "
        "locks everyone out of the console.",
        (
            ("TRUSTED_CA_BUNDLE", "/etc/pl/ca.pem", "robot certificate roots"),
            ("SESSION_TTL", "8h", "staff session lifetime"),
            ("DENY_UNKNOWN_ROBOTS", "true", "reject certificates not in the registry"),
        ),
        ("security", "deploy"),
    ),
    Service(
        "billing-exporter",
        "billing exporter",
        "Python",
        "counts scanned shelf positions per customer each night and sends "
        "the totals to finance",
        8200,
        "Platform",
        "tomasz",
        ("time-series store", "finance SFTP drop"),
        "the nightly export delivered by 06:00 UTC",
        "It runs as a nightly job; deploy after 07:00 UTC so a run is never cut short.",
        (
            ("EXPORT_HOUR_UTC", "2", "when the nightly run starts"),
            ("SFTP_HOST", "drop.finance.example", "where totals are delivered"),
            ("DRY_RUN", "false", "compute totals without sending them"),
        ),
        ("billing",),
    ),
)


def _overview(service: Service) -> str:
    depends = "\n".join(f"- {item}" for item in service.depends)
    return f"""The {service.noun} service (`{service.name}`) {service.purpose}.

## At a glance

| Property | Value |
| Language | {service.language} |
| Owning team | {service.owner} |
| Port | {service.port} |
| Objective | {service.slo} |

## Depends on

{depends}

!info: Dashboards live in Grafana under **Services / {service.name}**; alerts \
page the {service.owner} rotation."""


def _deploying(service: Service) -> str:
    return f"""Every merge to `main` builds an image of `{service.name}`; a deploy \
promotes that image through staging to the production clusters.

1. Check the dashboard for open alerts on `{service.name}`.
2. Promote to staging and watch it for fifteen minutes.
3. Promote to `eu-west-prod`, then to `us-east-prod`.

$ shipit promote {service.name} --to staging
$ shipit promote {service.name} --to eu-west-prod --canary 10

!warning: {service.deploy_note}

## Rolling back

Roll back with `shipit rollback {service.name}`; it restores the previous \
image in under a minute. Say so in #deploys when you do."""


def _settings(service: Service) -> str:
    rows = "\n".join(f"| `{n}` | {d} | {m} |" for n, d, m in service.settings)
    return f"""Settings of `{service.name}`, read from the environment at start.

| Variable | Default | Meaning |
{rows}

!note: Change a setting in the service's Helm values, never by editing a \
running pod."""


def service_pages() -> tuple[PageDraft, ...]:
    """One overview page per service, with its deploy and settings pages below."""
    pages = []
    for s in SERVICES:
        title = s.noun[0].upper() + s.noun[1:]
        deploy = page(
            f"Deploying the {s.noun} service",
            _deploying(s),
            labels=("deploy", "runbook"),
            author=s.author,
        )
        config = page(f"{title} service configuration", _settings(s), author=s.author)
        overview = page(
            f"{title} service",
            _overview(s),
            deploy,
            config,
            labels=s.labels,
            author=s.author,
        )
        pages.append(overview)
    return tuple(pages)
