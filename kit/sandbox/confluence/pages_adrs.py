"""The Engineering Handbook's architecture section, with its decision records.

Architecture pages describe how the fleet software fits together; the decision
records (ADRs) below them are the deepest level of the page tree, which is what
makes `ancestor` searches and three-level trees worth trying.
"""

from __future__ import annotations

from kit.sandbox.confluence.drafts import PageDraft, page

_ADRS = (
    (
        "Use gRPC between robots and the edge gateway",
        "priya",
        "Robots stream status at 5 Hz over flaky warehouse Wi-Fi. gRPC gives us "
        "typed messages, streaming and deadlines; MQTT would have needed a schema "
        "layer of our own.",
        "Accepted",
    ),
    (
        "Store telemetry in a time-series database",
        "tomasz",
        "Status frames are append-only and read by time range. A time-series "
        "store compresses them about twelve-fold compared with Postgres rows.",
        "Accepted",
    ),
    (
        "One Kubernetes cluster per region",
        "tomasz",
        "Customers in the EU require their data to stay in the EU. We run "
        "`eu-west-prod` and `us-east-prod` and never replicate between them.",
        "Accepted",
    ),
    (
        "Plan missions centrally, not on the robot",
        "mei",
        "The planner needs the whole warehouse and every robot's position. Robots "
        "keep a local fallback that parks them safely if the plan stops coming.",
        "Accepted",
    ),
    (
        "Vector maps instead of occupancy grids",
        "mei",
        "Shelving changes rarely and is regular. Vector maps are a hundred times "
        "smaller and can be diffed and reviewed like code.",
        "Accepted",
    ),
    (
        "Sign firmware with two keys",
        "jonas",
        "A single compromised key must not be able to ship firmware. The OTA "
        "updater refuses bundles without both signatures.",
        "Accepted",
    ),
    (
        "Rust for the ingest services",
        "tomasz",
        "The ingest paths handle every frame of every robot. Rust gave us "
        "predictable latency without a garbage collector pause at peak.",
        "Accepted",
    ),
    (
        "Retire the MQTT broker",
        "priya",
        "With every robot on protocol v2 the broker only carried heartbeats. "
        "They now travel on the gRPC stream.",
        "Superseded by ADR-001",
    ),
)


def _adr_pages() -> tuple[PageDraft, ...]:
    pages = []
    for number, (title, author, context, status) in enumerate(_ADRS, start=1):
        body = f"""**Status:** {status}

## Context and decision

{context}

## Consequences

Revisit this record if the assumptions above stop holding; link the new record \
from here."""
        pages.append(
            page(f"ADR-{number:03d}: {title}", body, labels=("adr",), author=author)
        )
    return tuple(pages)


def architecture() -> PageDraft:
    """The architecture section of the handbook."""
    return page(
        "Architecture",
        """How the fleet software fits together, from the robot to the \
operator console. Start with the fleet overview.""",
        page(
            "Fleet architecture overview",
            """Each warehouse has an edge gateway that relays robot traffic \
to our cloud over one outbound connection.

- Robots stream status to `telemetry-ingest` and upload scans to \
`lidar-ingest`.
- `mission-planner` sends each robot its mission for the night.
- `fleet-manager` is the registry behind the operator console.

!info: Nothing in the cloud calls into a warehouse; the gateway always dials \
out. This keeps customers' firewalls closed.""",
            labels=("architecture",),
            author="priya",
        ),
        page(
            "Telemetry pipeline architecture",
            """Status frames travel robot → edge gateway → Kafka topic \
`scout.status` → `telemetry-ingest` → time-series store. Frames carry the \
robot's clock and the gateway's clock, so we can measure Wi-Fi delay.""",
            labels=("architecture", "telemetry"),
            author="tomasz",
        ),
        page(
            "Mission planning design notes",
            """The planner solves a vehicle routing problem with time windows: \
aisles must be scanned while no pickers are in them. It starts from the \
previous night's plan, which makes most nights solve in seconds.""",
            labels=("architecture", "autonomy"),
            author="mei",
        ),
        page(
            "Perception stack overview",
            """The mast camera reads shelf labels; the lidar measures gaps. \
Label reading runs on the robot; gap detection runs in the cloud on the \
uploaded point clouds, where we can afford larger models.""",
            labels=("architecture", "perception"),
            author="mei",
        ),
        page(
            "Edge gateway protocol",
            """Gateways hold one mutually authenticated gRPC connection to the \
cloud and multiplex robot streams over it.

| Stream | Direction | Rate |
| status | robot to cloud | 5 Hz per robot |
| mission | cloud to robot | on change |
| scan upload | robot to cloud | after each mission |""",
            labels=("architecture",),
            author="priya",
        ),
        page(
            "Data retention and storage tiers",
            """Raw status frames are kept 30 days, hourly rollups two years. \
Point clouds move to cold storage after 14 days and are deleted after one \
year unless a customer contract says otherwise.""",
            labels=("architecture", "data"),
            author="tomasz",
        ),
        page(
            "Architecture decision records",
            """We record significant decisions as ADRs: the context, the \
decision, its consequences. Propose one by copying an existing record.""",
            *_adr_pages(),
            labels=("adr",),
        ),
        labels=("architecture",),
        author="priya",
    )
