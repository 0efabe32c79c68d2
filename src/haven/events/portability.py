"""How a workspace's events travel in a workspace export (haven.portability).

Event positions are left out: a position numbers an event in one database's change feed,
and the target's relay numbers the imported events in its own.
"""

from __future__ import annotations

from haven.portability.registry import Section, register_section

register_section(Section("events", "events", omit=frozenset({"position"})))
