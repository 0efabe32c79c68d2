"""Notifications: what Haven tells a user (a reminder, the daily digest), in their inbox and
on each channel they allow (docs/notifications.md)."""
