"""The scheduler: what is due at a time (reminders, daily digests, periodic jobs) becomes an
event through the outbox, once, whichever worker takes it (docs/scheduler.md)."""
