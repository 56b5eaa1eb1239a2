"""The smaller spaces: Operations Runbooks, Ada's personal space, the archives.

Runbooks are short and imperative; Ada's pages are her workshop notes; the archived
space and the second site (`pinecone-archive`) hold what the company keeps for
history, so that status filters and archived-space searches have something to find.
"""

from __future__ import annotations

from kit.sandbox.confluence.drafts import PageDraft, SpaceDraft, page


def _runbook(title: str, symptom: str, steps: tuple[str, ...], **kw: str) -> PageDraft:
    numbered = "\n".join(f"{n}. {step}" for n, step in enumerate(steps, start=1))
    body = f"""**Symptom:** {symptom}

## Steps

{numbered}

!note: Post what you did in the incident channel as you go; the postmortem is \
written from it."""
    return page(title, body, labels=("runbook",), author=kw.get("author", "tomasz"))


_RUNBOOKS = (
    _runbook(
        "Runbook: telemetry ingest lag",
        "the `IngestLagHigh` alert fires; robot positions in the console are stale.",
        (
            "Open Grafana, Services / telemetry-ingest, and check consumer lag.",
            "If one partition lags, restart the pod that owns it.",
            "If all lag, scale out: `shipit scale telemetry-ingest --replicas 12`.",
            "If the time-series store rejects writes, page the Fleet Data lead.",
        ),
    ),
    _runbook(
        "Runbook: robot stuck in an aisle",
        "a mission times out and the robot reports `BLOCKED` for over 10 minutes.",
        (
            "Check the robot's camera snapshot in the console.",
            "If a pallet blocks the aisle, mark the aisle closed; the planner "
            "re-plans.",
            "If the robot is faulted, send it to its dock with `scoutctl park`.",
            "Never ask warehouse staff to push a robot by hand.",
        ),
        author="mei",
    ),
    _runbook(
        "Runbook: edge gateway offline",
        "every robot of one warehouse shows as offline at once.",
        (
            "Check the gateway's last heartbeat in the fleet console.",
            "Ask the customer's night manager whether the site lost power or internet.",
            "If the gateway is up but silent, restart its tunnel remotely.",
            "Robots park themselves after five minutes without a plan; no action "
            "is needed for them.",
        ),
        author="priya",
    ),
    _runbook(
        "Runbook: OTA rollout halted",
        "the OTA updater pauses a wave because too many robots failed to update.",
        (
            "Read the failure reasons with `shipit ota status --wave current`.",
            "If failures share one warehouse, check that site's gateway first.",
            "Resume with `shipit ota resume` only after the cause is understood.",
            "A robot stuck half-updated recovers by rebooting into its previous slot.",
        ),
        author="jonas",
    ),
    _runbook(
        "Runbook: rebuilding the map tile cache",
        "robots report slow tile loads after a map was republished.",
        (
            "Confirm the new map version in the `pl-maps` bucket.",
            "Run `shipit job map-server warm-cache --warehouse <code>`.",
            "Watch the cache hit rate recover above 95%.",
        ),
        author="mei",
    ),
    _runbook(
        "Runbook: fleet database failover",
        "`fleet-manager` returns 500s and the Postgres primary is unreachable.",
        (
            "Confirm the primary is down, not just slow, in the database dashboard.",
            "Promote the replica with `shipit db promote fleet-db`.",
            "Restart `fleet-manager` so it reconnects to the new primary.",
            "Open a ticket to rebuild a replica within the day.",
        ),
    ),
    _runbook(
        "Runbook: rotating service certificates",
        "the `CertExpiresSoon` alert fires 14 days before expiry.",
        (
            "Issue the new certificate from the internal CA.",
            "Store it in Vault under the service's path.",
            "Restart the service one pod at a time and check its TLS handshake.",
        ),
        author="samira",
    ),
)

OPERATIONS = SpaceDraft(
    key="OPS",
    name="Operations Runbooks",
    type="global",
    status="current",
    description="Step-by-step runbooks for the on-call engineers of Pinecone Labs.",
    author="tomasz",
    labels=("operations",),
    home=page(
        "Operations Runbooks",
        """Runbooks for the alerts that page us. Each one starts with the \
symptom you see and lists the steps in order.

!warning: If a robot is a danger to people, press the warehouse's fleet stop \
button first and read runbooks later.""",
        *_RUNBOOKS,
        page(
            "Runbook: Jenkins agent disk full",
            """Clean the workspace directory of the agent. (Jenkins is retired.)""",
            status="archived",
        ),
        author="tomasz",
    ),
)

ADA = SpaceDraft(
    key="~ada",
    name="Ada Okafor",
    type="personal",
    status="current",
    description="Ada's notes and drafts.",
    author="ada",
    home=page(
        "Ada Okafor",
        """Developer advocate at Pinecone Labs. Notes for workshops and talks.""",
        page(
            "Notes: OAuth 3LO workshop outline",
            """An outline for the two-hour workshop on Atlassian's OAuth 2.0 \
(3LO) flow.

1. Build the authorization URL, with `state` and `prompt=consent`.
2. Catch the callback and exchange the code within its short life.
3. Find the cloud id with `accessible-resources`.
4. Call Confluence v2, then refresh the access token.""",
            labels=("workshop", "oauth"),
        ),
        page(
            "Reading list: robots and APIs",
            """- RFC 6749 and RFC 9700, the OAuth 2.0 core and its security BCP.
- The Confluence Cloud REST API v2 reference.
- Our own ADR-001 on gRPC between robots and gateways.""",
            labels=("reading",),
        ),
    ),
)

LEGACY = SpaceDraft(
    key="OLD",
    name="Legacy Wiki (2019-2021)",
    type="global",
    status="archived",
    description="The first wiki of Pinecone Labs, kept read-only for history.",
    author="priya",
    home=page(
        "Legacy Wiki",
        """This space is archived. Current documentation lives in the \
Engineering Handbook.""",
        page(
            "Prototype Scout build notes",
            """The 2019 prototype used hobby servos and a Raspberry Pi 3. It \
could scan one aisle before its battery gave out.""",
            author="jonas",
        ),
        author="priya",
    ),
)

LABS_SPACES = (OPERATIONS, ADA, LEGACY)

ARCHIVE_SPACES = (
    SpaceDraft(
        key="ARC",
        name="Pinecone Archive",
        type="global",
        status="current",
        description="Records of finished projects and field trials.",
        author="priya",
        home=page(
            "Pinecone Archive",
            """Finished projects, kept for reference. Ask in #archive before \
moving anything here.""",
            page(
                "Field trial in Rotterdam, 2021",
                """Six Scouts scanned a 40-aisle warehouse for eight weeks. \
Count accuracy reached 98.7%; the main failure was glare on shrink-wrapped \
pallets.""",
                labels=("field-trial",),
                author="mei",
            ),
            page(
                "Scout v1 teardown",
                """Findings from taking apart a v1 robot after 2,000 hours: \
the drive belts wore first, the lidar never needed service.""",
                author="jonas",
            ),
            page(
                "Fernleaf Robotics acquisition notes",
                """Integration notes from 2022: their picking arm was shelved, \
their map format inspired our vector maps.""",
                author="priya",
            ),
            author="priya",
        ),
    ),
    SpaceDraft(
        key="MKT",
        name="Marketing Launches 2022",
        type="global",
        status="current",
        description="Launch plans and press material for Scout v2.",
        author="ada",
        home=page(
            "Marketing Launches 2022",
            """Plans and press material from the Scout v2 launch.""",
            page(
                "Scout v2 launch checklist",
                """- Press kit with photos from the Leeds test warehouse.
- Customer webinar with the Rotterdam trial results.
- Booth at the logistics trade fair in Birmingham.""",
                labels=("launch",),
            ),
        ),
    ),
)
