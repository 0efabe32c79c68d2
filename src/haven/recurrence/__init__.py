"""Recurring tasks: RRULEs and everyday phrases, expanded on the task's local wall clock."""

from haven.recurrence.errors import InvalidRecurrence, SearchLimitReached
from haven.recurrence.phrases import phrase_to_rule
from haven.recurrence.rules import (
    Mode,
    Recurrence,
    check_schedule,
    next_due,
    occurrences,
    parse_recurrence,
)

__all__ = [
    "InvalidRecurrence",
    "Mode",
    "Recurrence",
    "SearchLimitReached",
    "check_schedule",
    "next_due",
    "occurrences",
    "parse_recurrence",
    "phrase_to_rule",
]
