"""The Engineering Handbook (space ENG) of Pinecone Labs, as a tree of page drafts.

Pinecone Labs builds Scout, a small robot that counts stock on warehouse shelves at
night, and the fleet software behind it. The handbook is what its engineers read on
their first day and look things up in later: practices, architecture, services.
"""

from __future__ import annotations

from kit.sandbox.confluence.drafts import PageDraft, page
from kit.sandbox.confluence.pages_adrs import architecture
from kit.sandbox.confluence.pages_services import service_pages

_HOME = """Welcome to the Engineering Handbook of **Pinecone Labs**. It describes \
how we build, ship and run Scout, our shelf-scanning robot, and the fleet software \
behind it.

## Where to start

- New here? Read **Getting started** first.
- Shipping a change? See **Development practices** and the page of your service.
- Carrying the pager? The **On-call handbook** is yours.

!info: Anyone can edit this handbook. If a page is wrong, fix it and mention the \
owner in the page comments."""

_GETTING_STARTED = page(
    "Getting started",
    """Your first two weeks, in the order most people find useful.

1. Set up your workstation.
2. Request access to the systems your team uses.
3. Ship a small change to staging with your onboarding buddy.""",
    page(
        "Your first week at Pinecone Labs",
        """On Monday you meet your onboarding buddy and collect a laptop and a \
lab badge from the front desk in Leeds.

- Tuesday: lab safety induction (required before you touch a robot).
- Wednesday: ride along on a night shift in the test warehouse.
- Friday: demo your first merged change at the engineering weekly.""",
        labels=("onboarding",),
    ),
    page(
        "Setting up your workstation",
        """We support macOS and Ubuntu 22.04. Install the toolchain with the \
bootstrap script; it is safe to re-run.

$ git clone git@git.pinecone-labs.example:platform/bootstrap.git
$ ./bootstrap/install.sh --profile engineer

!tip: The script installs `shipit`, our deploy tool. Run `shipit doctor` to \
check that it can reach the clusters.""",
        labels=("onboarding",),
    ),
    page(
        "Access requests and accounts",
        """Access is granted per team through the access portal; your manager \
approves it.

| System | Who gets it | How long it takes |
| Git and CI | everyone | same day |
| Production clusters (read) | engineers after week one | one day |
| Production clusters (write) | on-call engineers | after shadowing |
| Lab robots | after the safety induction | same day |""",
        labels=("onboarding", "access"),
        author="samira",
    ),
    page(
        "Glossary of robot and fleet terms",
        """Words you will hear in stand-ups, with what we mean by them.

- **Scout**: the robot. A Scout has a mast camera, a lidar and two drive motors.
- **Dock**: a charging station; each warehouse has one dock per four Scouts.
- **Mission**: one robot's route through a set of aisles during one night.
- **Edge gateway**: the box in each warehouse that relays robot traffic.
- **Wave**: a batch of robots updated together by the OTA updater.""",
        labels=("onboarding",),
        author="priya",
    ),
    page(
        "Who to ask about what",
        """Teams and their Slack channels.

| Topic | Team | Channel |
| Robots, firmware, batteries | Firmware | #team-firmware |
| Maps, missions, perception | Autonomy | #team-autonomy |
| Fleet registry and console | Fleet Software | #team-fleet |
| Clusters, deploys, on-call | Platform | #team-platform |""",
        labels=("onboarding",),
    ),
    labels=("onboarding",),
)

_SERVICES = page(
    "Services",
    """The services that run the fleet. Each has an overview, a deploy guide \
and a configuration reference. All of them deploy with `shipit` to the \
`eu-west-prod` and `us-east-prod` clusters.""",
    *service_pages(),
)

_PRACTICES = page(
    "Development practices",
    """How we write, review and release code. These are agreements, not laws: \
propose changes in #eng-practices.""",
    page(
        "Code review guidelines",
        """Every change needs one approving review; changes to firmware or to \
`auth-proxy` need two.

- Review within one working day, or say when you will.
- Comment on the code, not the author; suggest, do not command.
- Approve with nits; do not block on style the formatter would fix.""",
        labels=("review",),
    ),
    page(
        "Branching and release trains",
        """We work on short-lived branches off `main` and merge with squash \
commits. Services deploy continuously; robot software ships on a release \
train every second Tuesday.

!note: A train leaves on time. A change that misses it waits two weeks, or goes \
through the hotfix process with a Firmware lead's approval.""",
        author="jonas",
    ),
    page(
        "Writing good commit messages",
        """A subject line of at most 60 characters in the imperative mood, a \
blank line, then why the change is needed.

$ git commit -m "Stop replanning when the blocked aisle clears"

Reference the issue key, e.g. `FLEET-1432`, in the body, not the subject.""",
    ),
    page(
        "Testing strategy",
        """We test at three levels.

- Unit tests run on every push and finish in under five minutes.
- Simulation tests drive a virtual warehouse with 40 simulated Scouts nightly.
- Hardware-in-the-loop tests run on the rig before every release train.

A change that alters robot motion needs a simulation test.""",
        labels=("testing",),
        author="mei",
    ),
    page(
        "Python style guide",
        """We follow PEP 8 through `ruff format`, with type hints everywhere \
and `mypy --strict` in CI.

- Prefer dataclasses to dicts for anything with more than two fields.
- Log with `%s` arguments, never f-strings in log calls.
- No bare `except:`; catch what you can handle.""",
        labels=("style", "python"),
        author="priya",
    ),
    page(
        "Rust style guide",
        """`cargo fmt` and `cargo clippy -- -D warnings` must pass. Errors use \
`thiserror` in libraries and `anyhow` in binaries.

!tip: Avoid `unwrap()` outside tests; in the ingest services a panic drops a \
whole batch of frames.""",
        labels=("style", "rust"),
        author="tomasz",
    ),
    page(
        "Feature flags",
        """Flags live in the flag service and are read at request time. Name \
them `team.feature.purpose`, e.g. `autonomy.replan.aggressive`.

- Every flag has an owner and a removal date.
- Flags that change robot motion default to off in production.""",
    ),
    page(
        "Dependency upgrades",
        """Renovate opens upgrade pull requests every Monday. The owning team \
merges patch upgrades within a week and schedules minor ones in planning.

!warning: Never upgrade the ROS 2 distribution in a service without the \
Autonomy team; the robots pin it.""",
        author="tomasz",
    ),
)

_HARDWARE = page(
    "Hardware and firmware",
    """Scout runs firmware on a Pico-7 motor controller and Linux on its main \
computer. This section is for anyone who changes either.""",
    page(
        "Firmware release process",
        """Firmware ships with the robot release train, signed by two Firmware \
engineers.

1. Tag the release candidate and build it in CI.
2. Soak it on the hardware-in-the-loop rig for 24 hours.
3. Roll it out with the OTA updater, starting with the test warehouse.""",
        labels=("firmware", "release"),
        author="jonas",
    ),
    page(
        "Flashing a Pico-7 controller",
        """Flash a controller on the bench only, with the robot's main switch \
off and the battery removed.

$ picotool load build/scout-motor.uf2 --verify
$ picotool reboot

!warning: Never flash a controller over the robot's own USB hub; a brown-out \
during the write bricks the board.""",
        labels=("firmware",),
        author="jonas",
    ),
    page(
        "Battery safety rules in the lab",
        """Scout uses a 24 V lithium iron phosphate pack.

- Charge packs only on the fire-safe shelf in lab 2.
- A swollen or hot pack goes in the sand bin, then tell the lab lead.
- Never leave a pack charging overnight outside a dock.""",
        labels=("safety",),
        author="jonas",
    ),
    page(
        "Motor controller calibration",
        """Calibrate both drive motors after replacing a motor or a \
controller. The routine spins each wheel for thirty seconds on the stand and \
writes the offsets to the controller's flash.

$ scoutctl calibrate --motors left,right --stand""",
        author="jonas",
    ),
    page(
        "Hardware-in-the-loop rig",
        """The rig in lab 3 holds four Scout main boards and motor \
controllers wired to a simulated warehouse. CI books it through the \
`hil-rig` queue; book it by hand in #lab-bookings.""",
        labels=("testing",),
        author="mei",
    ),
)

_SECURITY = page(
    "Security",
    """Security is everyone's job; the Platform team owns the policies below.""",
    page(
        "Secrets handling",
        """Secrets live in Vault and reach services as files mounted at start.

- Never put a secret in Git, a ticket or a chat message.
- Rotate a secret you pasted by mistake at once, then tell #security.
- Robots get their client certificates from the internal CA, never by copy.""",
        labels=("security",),
        author="samira",
    ),
    page(
        "Incident disclosure policy",
        """If customer data may have been exposed, the incident lead informs \
the security lead within one hour; customers are told within 72 hours.""",
        labels=("security",),
        author="samira",
    ),
    page(
        "Threat model for the edge gateway",
        """The edge gateway sits on the customer's network, so we assume that \
network is hostile.

- All robot traffic is mutually authenticated TLS.
- The gateway stores no customer data beyond a 10-minute buffer.
- Its SSH port is closed; support goes through the outbound tunnel.""",
        labels=("security", "architecture"),
        author="samira",
    ),
)

_ON_CALL = page(
    "On-call handbook",
    """Platform and each service team run a weekly rotation, Monday 10:00 to \
Monday 10:00 UK time. The pager carries the alerts of your team's services; \
runbooks live in the **Operations Runbooks** space.""",
    page(
        "Escalation policy",
        """Acknowledge a page within 5 minutes. If you cannot fix it in 30, \
escalate to the secondary; after an hour, to the engineering manager on duty.""",
        labels=("on-call",),
        author="tomasz",
    ),
    page(
        "Paging etiquette",
        """Page a person for customer impact, not for curiosity.

- Night shifts in warehouses run 22:00 to 06:00 local time; that is when \
robot incidents happen.
- Hand over open incidents in writing at the end of your week.""",
        labels=("on-call",),
        author="tomasz",
    ),
    page(
        "Postmortem template",
        """Write a blameless postmortem within five working days of any \
incident with customer impact.

## Sections

1. Summary and impact, with times in UTC.
2. Timeline.
3. What went well, what did not, where we got lucky.
4. Actions, each with an owner and a ticket.""",
        labels=("on-call", "template"),
        author="tomasz",
    ),
    labels=("on-call",),
    author="tomasz",
)

_RETIRED = (
    page(
        "Legacy build farm (Jenkins)",
        """Until March 2023 we built everything on a Jenkins farm of six \
agents. It was replaced by the hosted CI; this page is kept for history.""",
        status="archived",
        author="tomasz",
    ),
    page(
        "Telemetry protocol v1",
        """The first telemetry protocol sent JSON over MQTT at 1 Hz. Version 2 \
moved to protobuf over gRPC at 5 Hz; no robot speaks v1 any more.""",
        status="archived",
        author="priya",
    ),
    page(
        "Q3 hiring plan (draft)",
        """Headcount notes that were moved to the People space.""",
        status="trashed",
    ),
    page(
        "Robot naming scheme",
        """Proposal: name Scouts after trees of the warehouse's region.""",
        status="draft",
    ),
)


def engineering_home() -> PageDraft:
    """The ENG homepage and everything below it."""
    return page(
        "Engineering Handbook",
        _HOME,
        _GETTING_STARTED,
        architecture(),
        _SERVICES,
        _PRACTICES,
        _HARDWARE,
        _SECURITY,
        _ON_CALL,
        *_RETIRED,
        labels=("handbook",),
    )
