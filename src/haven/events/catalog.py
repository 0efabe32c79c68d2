"""Every event type Haven emits. Grow this list; never rename an entry."""

from __future__ import annotations

from typing import Final

PREFIX: Final = "haven."

TASK_CREATED: Final = "haven.task.created"
TASK_UPDATED: Final = "haven.task.updated"
TASK_COMPLETED: Final = "haven.task.completed"
TASK_REOPENED: Final = "haven.task.reopened"
TASK_SKIPPED: Final = "haven.task.skipped"
TASK_DELETED: Final = "haven.task.deleted"
TASK_RESTORED: Final = "haven.task.restored"
TASK_DEPENDENCY_ADDED: Final = "haven.task.dependency_added"
TASK_DEPENDENCY_REMOVED: Final = "haven.task.dependency_removed"
TIMER_STARTED: Final = "haven.timer.started"
TIMER_STOPPED: Final = "haven.timer.stopped"
REMINDER_CREATED: Final = "haven.reminder.created"
REMINDER_DELETED: Final = "haven.reminder.deleted"
REMINDER_DUE: Final = "haven.reminder.due"
# A user's daily digest is due (scheduler/digests.py): the notifications consumer sends it.
DIGEST_REQUESTED: Final = "haven.digest.requested"
PROJECT_CREATED: Final = "haven.project.created"
PROJECT_UPDATED: Final = "haven.project.updated"
PROJECT_DELETED: Final = "haven.project.deleted"
TAG_CREATED: Final = "haven.tag.created"
TAG_UPDATED: Final = "haven.tag.updated"
TAG_DELETED: Final = "haven.tag.deleted"
MEMBER_ADDED: Final = "haven.member.added"
MEMBER_REMOVED: Final = "haven.member.removed"
MEMBER_ROLE_CHANGED: Final = "haven.member.role_changed"
USER_REGISTERED: Final = "haven.user.registered"
USER_UPDATED: Final = "haven.user.updated"
USER_DEACTIVATED: Final = "haven.user.deactivated"
WORKSPACE_CREATED: Final = "haven.workspace.created"
WORKSPACE_UPDATED: Final = "haven.workspace.updated"
WORKSPACE_DELETED: Final = "haven.workspace.deleted"
API_KEY_CREATED: Final = "haven.api_key.created"
API_KEY_REVOKED: Final = "haven.api_key.revoked"
USER_IDENTITY_LINKED: Final = "haven.user.identity_linked"
DEVICE_REGISTERED: Final = "haven.device.registered"
DEVICE_REMOVED: Final = "haven.device.removed"
WEBHOOK_CREATED: Final = "haven.webhook.created"
WEBHOOK_UPDATED: Final = "haven.webhook.updated"
WEBHOOK_DELETED: Final = "haven.webhook.deleted"
# An endpoint failed for days and Haven disabled it: the notification for its owners.
WEBHOOK_DELIVERY_FAILED: Final = "haven.webhook.delivery_failed"
# Sent by POST /webhooks/{id}/test to that endpoint only; never in the event log.
WEBHOOK_TEST: Final = "haven.webhook.test"
# A notification was made for a user (a reminder, the digest): the in-app channel's signal.
NOTIFICATION_REQUESTED: Final = "haven.notification.requested"
# One channel's delivery of it went out, or gave up.
NOTIFICATION_SENT: Final = "haven.notification.sent"
NOTIFICATION_FAILED: Final = "haven.notification.failed"
NOTIFICATION_READ: Final = "haven.notification.read"
NOTIFICATION_PREFERENCES_UPDATED: Final = "haven.notification_preferences.updated"
