"""What can go wrong with a recurrence, in the user's words."""


class InvalidRecurrence(ValueError):
    """A recurrence the user gave cannot be used; the message says what to fix, in user words."""


class SearchLimitReached(InvalidRecurrence):
    """The next occurrence was not found within the bounded search (see `expansion.MAX_STEPS`)."""
