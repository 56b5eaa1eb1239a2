"""The emulated Confluence behind `/ex/confluence/{cloudid}`: routes, content, answers.

The gateway (`kit/sandbox/gateway.py`) names the operation with `match_operation`,
checks the token's scopes against `Operation.scope_sets`, and hands the call to
`ConfluenceApi.handle`, which answers with v1 or v2 shapes from Atlassian's specs.
"""

from __future__ import annotations

from kit.sandbox.confluence.api import ConfluenceApi
from kit.sandbox.confluence.routes import Operation, match_operation, operations

__all__ = ["ConfluenceApi", "Operation", "match_operation", "operations"]
