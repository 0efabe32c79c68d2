"""Recurring tasks: RRULEs and everyday phrases, expanded on the task's local wall clock."""

from haven.recurrence.phrases import phrase_to_rule
from haven.recurrence.rules import (
    InvalidRecurrence,
    Mode,
    Recurrence,
    next_due,
    occurrences,
    parse_recurrence,
)

__all__ = [
    "InvalidRecurrence",
    "Mode",
    "Recurrence",
    "next_due",
    "occurrences",
    "parse_recurrence",
    "phrase_to_rule",
]
