"""Why an import is refused."""

from __future__ import annotations

from haven.core.errors import Conflict, HavenError


class InvalidExport(HavenError):
    """The document is not a Haven workspace export this version can read."""

    status = 422
    title = "Not a Haven workspace export"
    type_slug = "invalid-export"


class WorkspaceExists(Conflict):
    """The workspace (or some of its rows) is already in the target database."""
