"""How a workspace's tags travel in a workspace export (haven.portability)."""

from __future__ import annotations

from haven.portability.registry import Section, register_section

register_section(Section("tags", "tags"))
