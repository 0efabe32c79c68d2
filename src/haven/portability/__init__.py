"""Move one workspace between Haven databases as a single lossless JSON document.

``export_workspace`` reads the workspace row and every row that belongs to it, section by
section, and writes each row with every column of its table: UUIDs as strings, instants as
RFC 3339 UTC, rows ordered by id. Which tables travel is not listed here: each module that
owns workspace data registers its sections in its own ``portability.py`` (see
``registry.py``), with the import rules that are its own.

``import_workspace`` recreates the workspace with the same ids. Users are not part of a
workspace: every user the rows mention is listed by email, and each is matched to an
existing user of the target database by that email. A user who is not there loses their
membership and time logs, and their name is cleared from created_by / assignee fields.

The columns come from the table metadata, so a new column is exported without touching
any of this; a document from another format version is refused rather than guessed at.

This is a whole-schema tool (backup, restore, moving between SQLite and PostgreSQL) that
works on raw rows of any registered table, so its generic queries live in this package
rather than in each module's repository. Neither function commits.
"""

from haven.portability.document import ParsedExport, parse_export
from haven.portability.errors import InvalidExport, WorkspaceExists
from haven.portability.exporting import FORMAT, FORMAT_VERSION, export_workspace
from haven.portability.importing import import_workspace
from haven.portability.registry import (
    IMPORT_ACTOR,
    ImportContext,
    ImportReport,
    Row,
    Section,
    register_section,
    registered_sections,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "IMPORT_ACTOR",
    "ImportContext",
    "ImportReport",
    "InvalidExport",
    "ParsedExport",
    "Row",
    "Section",
    "WorkspaceExists",
    "export_workspace",
    "import_workspace",
    "parse_export",
    "register_section",
    "registered_sections",
]
