from __future__ import annotations

from typing import Any

from carestory.accounts.models import User
from carestory.audit.models import AuditEvent


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: Any,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    object_type: str | None = None,
) -> AuditEvent:
    """Record who did what to which object. Call inside the transaction that makes the change."""
    label = "system" if actor is None else (actor.full_name or f"user {actor.pk}")
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=label[:150],
        action=action,
        object_type=object_type or type(obj).__name__.lower(),
        object_id=str(getattr(obj, "public_id", None) or obj.pk),
        changes=changes or {},
        reason=reason,
    )
