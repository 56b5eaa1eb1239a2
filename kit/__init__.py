"""A small library for learning Atlassian Cloud's OAuth 2.0 (3LO) flow.

`kit.sandbox` is a faithful offline emulator of Atlassian's authorization server, its
API gateway and a small Confluence site. Importing `kit` stays light: nothing here
imports Jupyter, widgets or the sandbox's server until they are used.
"""

from __future__ import annotations

import logging

__all__ = ["__version__"]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# From the first import on, the DEBUG lines of requests-oauthlib, oauthlib and
# urllib3 show secrets masked (case 103). No library is imported for it.
from kit.redact import protect_library_logs  # noqa: E402

protect_library_logs()
