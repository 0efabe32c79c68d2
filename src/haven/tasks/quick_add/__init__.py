"""Natural-language quick add: one line becomes a task (grammar per language, API, service)."""

from haven.tasks.quick_add.parser import LANGUAGES, MAX_LENGTH, LineTooLong, parse_quick_add
from haven.tasks.quick_add.result import QuickAdd, Reminder, Repeats, Span

__all__ = [
    "LANGUAGES",
    "MAX_LENGTH",
    "LineTooLong",
    "QuickAdd",
    "Reminder",
    "Repeats",
    "Span",
    "parse_quick_add",
]
