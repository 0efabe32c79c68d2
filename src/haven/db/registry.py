"""Import every module's tables so the metadata (and Alembic) sees the whole schema."""

from __future__ import annotations

from haven.accounts import models as accounts_models
from haven.db.base import Base
from haven.events import models as events_models
from haven.notifications import models as notifications_models
from haven.notifications import push_keys as push_keys_models
from haven.projects import models as projects_models
from haven.savedsearches import models as savedsearches_models
from haven.scheduler import models as scheduler_models
from haven.tags import models as tags_models
from haven.tasks import models as tasks_models
from haven.webhooks import models as webhooks_models
from haven.workspaces import models as workspaces_models

__all__ = [
    "Base",
    "accounts_models",
    "events_models",
    "notifications_models",
    "projects_models",
    "push_keys_models",
    "savedsearches_models",
    "scheduler_models",
    "tags_models",
    "tasks_models",
    "webhooks_models",
    "workspaces_models",
]

metadata = Base.metadata
